#include "runtime/model/manifest.h"

#include "runtime/formats/atomic_file.h"

namespace fernn {

std::string library_file_name(const std::string &model_name) {
    return "lib" + model_name + ".so";
}

std::string library_hash(const std::string &so) {
    return fnv1a_hex(read_file_bytes(so, kMaxLibraryBytes));
}

Manifest parse_manifest(json doc, const std::string &path) {
    const JsonSource source{path, {}};
    if (!doc.is_object()) source.fail("", "got " + describe(doc) + "; allowed: a manifest object");
    Manifest m;
    const json version = doc.value("library_version", json(1));
    if (version != kLibraryVersion) {
        throw InputError(path + ": compiled by another fernn version (library version " +
                         describe(version) + ", this fernn needs " +
                         std::to_string(kLibraryVersion) + "); recompile it with fernn compile");
    }
    // Reading through ObjectReader gives each wrong type its JSON path; the keys the runtime
    // does not use (layouts, schedule, timings) are the compiler's record and not checked.
    ObjectReader r(doc, "", source);
    // A library does not depend on the spec's training defaults (the model hash leaves them out,
    // and one compiled model serves specs that differ only there), so they are not read: a
    // manifest stays readable when they change meaning.
    json spec = r.raw("spec");
    if (spec.is_object()) spec.erase("training");
    m.spec = parse_spec(spec, JsonSource{path + " (spec)", {}});
    // The spec, the plan and the library must be the ones compiled together.
    if (r.string("model_hash", 64) != m.spec.model_hash()) {
        source.fail("model_hash",
                    "does not match the manifest's spec (edited or damaged); recompile the model "
                    "with fernn compile");
    }
    m.plan = build_plan(m.spec);
    if (r.raw("plan") != m.plan.to_json()) {
        source.fail("plan",
                    "differs from the plan this fernn makes of the manifest's spec; recompile "
                    "the model with fernn compile");
    }
    m.float64 = r.choice("precision", {"float32", "float64"}) == "float64";
    m.library = r.string("library", 256);
    if (m.library != library_file_name(m.spec.name)) {
        source.fail("library", "got " + describe(r.raw("library")) + "; allowed: \"" +
                                   library_file_name(m.spec.name) + "\"");
    }
    m.library_hash = r.string("library_hash", 64);
    const json &pipelines = r.raw("pipelines");
    if (!pipelines.is_array() || pipelines.empty() || pipelines.size() > 4096)
        source.fail("pipelines", "got " + describe(pipelines) + "; allowed: a list of pipelines");
    for (size_t i = 0; i < pipelines.size(); ++i) {
        ObjectReader p(pipelines[i], "pipelines[" + std::to_string(i) + "]", source);
        ManifestPipeline pipe;
        pipe.name = p.identifier("name", 128);
        pipe.device = p.has("device") ? p.choice("device", {"cpu", "cuda"}) : "cpu";
        pipe.symbol = p.identifier("symbol", 256);
        for (const char *part : {"inputs", "outputs"}) {
            const json &list = p.raw(part);
            if (!list.is_array() || list.size() > 1024)
                source.fail(p.path_of(part), "got " + describe(list) + "; allowed: a list of names");
            for (size_t k = 0; k < list.size(); ++k) {
                if (!list[k].is_string()) {
                    source.fail(p.path_of(part) + "[" + std::to_string(k) + "]",
                                "got " + describe(list[k]) + "; allowed: an argument name");
                }
                pipe.arguments.push_back(list[k].get<std::string>());
            }
        }
        m.pipelines.push_back(std::move(pipe));
    }
    m.doc = std::move(doc);
    return m;
}

Manifest read_manifest(const std::string &path) {
    return parse_manifest(read_json_file(path), path);
}

}  // namespace fernn
