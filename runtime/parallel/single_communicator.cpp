#include "runtime/parallel/communicator.h"

namespace fernn {

namespace {

class SingleProcess final : public Communicator {
  public:
    int rank() const override { return 0; }
    int size() const override { return 1; }
    std::string engine() const override { return "single"; }
    void allreduce_sum(float *, size_t) override {}
    void allreduce_sum(double *, size_t) override {}
    void broadcast(void *, size_t, int root) override {
        if (root != 0)
            throw std::logic_error("broadcast from rank " + std::to_string(root) + " of 1");
    }
    void barrier() override {}
};

}  // namespace

std::unique_ptr<Communicator> single_process() {
    return std::make_unique<SingleProcess>();
}

}  // namespace fernn
