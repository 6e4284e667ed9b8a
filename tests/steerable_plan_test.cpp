// The model plan of rotation flows: the reference's (rotating_mnist_fp, escnn) tensor names
// and shapes, the pipelines that read the filter bases, escnn's initialization, and
// checkpoints that carry escnn's `filter` and `sampled_basis` buffers (runtime only).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <unistd.h>

#include "runtime/groups/cyclic_basis.h"
#include "runtime/model/checkpoint.h"
#include "runtime/plan/plan.h"
#include "tests/test_specs.h"

namespace fernn {
namespace {

using Shape = std::vector<int64_t>;

const ConstantInfo &constant(const ModelPlan &plan, const std::string &name) {
    for (const auto &c : plan.constants)
        if (c.name == name) return c;
    throw std::logic_error("no constant " + name);
}

const char *kBasisU = "cell.conv_u._basisexpansion.block_expansion_('irrep_0', 'regular').sampled_basis";
const char *kBasisH = "cell.conv_h._basisexpansion.block_expansion_('regular', 'regular').sampled_basis";

TEST(SteerablePlan, NamesAndShapesAreTheReferenceStateDict) {
    // C_4, two fields: escnn's bases have 6 (lift) and 24 (regular) elements for k = 3.
    const ModelPlan plan = build_plan(test::spec_from(test::tiny_rotation_json()));
    ASSERT_EQ(plan.params.size(), 4u);
    EXPECT_EQ(plan.params[0].name, "cell.conv_u.weights");
    EXPECT_EQ(plan.params[0].shape, Shape{2 * 1 * 6});
    EXPECT_EQ(plan.params[1].name, "cell.conv_h.weights");
    EXPECT_EQ(plan.params[1].shape, Shape{2 * 2 * 24});
    EXPECT_EQ(plan.params[2].name, "decoder_conv.0.weight");
    EXPECT_EQ(plan.params[2].shape, (Shape{8, 8, 3, 3}));  // dense over fields × orientations
    EXPECT_EQ(plan.params[3].shape, (Shape{1, 8, 3, 3}));
    EXPECT_EQ(constant(plan, kBasisU).shape, (Shape{6, 4, 1, 9}));
    EXPECT_EQ(constant(plan, kBasisH).shape, (Shape{24, 4, 4, 9}));
    ASSERT_EQ(plan.derived.size(), 2u);
    EXPECT_EQ(plan.derived[0].name, "cell.conv_u.filter");
    EXPECT_EQ(plan.derived[0].shape, (Shape{8, 1, 3, 3}));
    EXPECT_EQ(plan.derived[1].name, "cell.conv_h.filter");
    EXPECT_EQ(plan.derived[1].shape, (Shape{8, 8, 3, 3}));
    EXPECT_EQ(plan.geometry.copies, 4);
    // Constants start on aligned offsets of their flat buffer.
    for (const auto &c : plan.constants) EXPECT_EQ(c.offset % kTensorAlignment, 0);
}

TEST(SteerablePlan, PipelinesReadTheBasisWithTheWeights) {
    const ModelPlan plan = build_plan(test::spec_from(test::tiny_rotation_json()));
    auto reads = [&](const std::string &pipeline, const std::string &tensor) {
        for (const auto &a : plan.pipeline(pipeline).inputs)
            if (a.name == argument_name(tensor)) return a.source;
        return Source::Data;
    };
    // The forward expands the filter; the backward contracts its gradient with the basis.
    EXPECT_EQ(reads("lifting_forward", kBasisU), Source::Constant);
    EXPECT_EQ(reads("lifting_backward", kBasisU), Source::Constant);
    EXPECT_EQ(reads("layer0_cell_forward", kBasisH), Source::Constant);
    EXPECT_EQ(reads("layer0_cell_backward", kBasisH), Source::Constant);
    EXPECT_EQ(reads("layer0_cell_forward", "cell.conv_h.weights"), Source::Param);
    const Argument *grad = plan.pipeline("layer0_cell_backward").find_output("grad_cell_conv_h_weights");
    ASSERT_NE(grad, nullptr);
    EXPECT_EQ(grad->source, Source::Grad);
}

TEST(SteerablePlan, InitializationFollowsEscnnPerBasisElement) {
    json doc = test::tiny_rotation_json();
    doc["recurrence"]["channels"] = 16;
    const ModelPlan plan = build_plan(test::spec_from(doc));
    const ModelWeights<double> w = init_weights<double>(plan, 7);
    const SteerableBasis basis = cyclic_steerable_basis(4, 3, FieldKind::Regular);
    const std::vector<double> stds = steerable_init_std(basis, 16);
    // Pool the weights of each basis element over the 256 field pairs: their spread is the
    // element's standard deviation.
    const double *h = w.params.tensor(1);
    for (int e = 0; e < basis.elements; ++e) {
        double sq = 0;
        for (int pair = 0; pair < 256; ++pair) sq += h[pair * basis.elements + e] * h[pair * basis.elements + e];
        const double measured = std::sqrt(sq / 256);
        EXPECT_NEAR(measured / stds[e], 1.0, 0.25) << "element " << e;
    }
}

class SteerableCheckpoint : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("fernn_steerable_" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string path(const std::string &name) const { return (dir_ / name).string(); }
    std::filesystem::path dir_;
};

TEST_F(SteerableCheckpoint, CarriesTheExpandedFilterAndTheBasis) {
    const ModelPlan plan = build_plan(test::spec_from(test::tiny_rotation_json()));
    const ModelWeights<float> w = init_weights<float>(plan, 3);
    const TensorFile<float> file = checkpoint_tensors(plan, w);
    const Array<float> *filter = file.find("cell.conv_h.filter");
    ASSERT_NE(filter, nullptr);
    const SteerableBasis basis = cyclic_steerable_basis(4, 3, FieldKind::Regular);
    const std::vector<float> expected = expand_steerable_filter(basis, w.params.tensor(1), 2, 2);
    ASSERT_EQ(filter->numel(), int64_t(expected.size()));
    for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(filter->data[i], expected[i], 1e-6);
    ASSERT_NE(file.find(kBasisU), nullptr);

    // Round trip, with and without the derived filters (escnn drops them in train mode).
    save_checkpoint(path("a.safetensors"), plan, w, {}, "F32");
    const ModelWeights<float> back = load_checkpoint<float>(path("a.safetensors"), plan, "r");
    EXPECT_EQ(back.params.data, w.params.data);
    TensorFile<float> without;
    for (const auto &[name, a] : file.tensors)
        if (name.find(".filter") == std::string::npos) without.tensors.emplace_back(name, a);
    write_safetensors(path("b.safetensors"), without, "F32");
    EXPECT_EQ(load_checkpoint<float>(path("b.safetensors"), plan, "r").params.data, w.params.data);
}

TEST_F(SteerableCheckpoint, TheBasisMustBeTheSpecsToFloat32Rounding) {
    const ModelPlan plan = build_plan(test::spec_from(test::tiny_rotation_json()));
    const ModelWeights<float> w = init_weights<float>(plan, 3);
    auto with_basis_offset = [&](float delta) {
        TensorFile<float> file = checkpoint_tensors(plan, w);
        for (auto &[name, a] : file.tensors)
            if (name == kBasisH) a.data[5] += delta;
        write_safetensors(path("c.safetensors"), file, "F32");
        return path("c.safetensors");
    };
    // escnn's float32 sampling differs by ~1e-7: accepted; another basis is not.
    EXPECT_NO_THROW(load_checkpoint<float>(with_basis_offset(2e-7f), plan, "r"));
    try {
        load_checkpoint<float>(with_basis_offset(1e-3f), plan, "r");
        FAIL() << "a different basis was accepted";
    } catch (const InputError &e) {
        EXPECT_NE(std::string(e.what()).find("the steerable filter basis"), std::string::npos)
            << e.what();
    }
    EXPECT_THROW(load_checkpoint<float>(with_basis_offset(NAN), plan, "r"), InputError);
}

}  // namespace
}  // namespace fernn
