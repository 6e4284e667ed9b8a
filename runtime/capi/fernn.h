/* fernn.h: the C API of fernn, compiled Flow Equivariant RNNs for C, C++ and any language that
 * calls C (the Python package `fernn` is ctypes over exactly these functions).
 *
 * A model is a compiled library (`fernn compile SPEC -o DIR`, or fernn_compile, which compiles
 * into the cache on first use) plus the state the runtime keeps for it: the parameters, the
 * BatchNorm running statistics, and a pass: what the last forward kept for the backward. More
 * passes (fernn_pass_create) keep several forwards alive at once. One model is used by one
 * thread at a time; open a model twice to run on two threads.
 *
 * Conventions
 *  - Every call returns a fernn_status; on failure fernn_last_error() holds the message (per
 *    thread, until the next failing call). No input makes a call abort the process.
 *  - Arrays are dense and C-ordered, of the model's element type (fernn_info.element_bytes:
 *    4 for float32 models, 8 for float64 builds): sequences (B, T, C, H, W); predictions
 *    (B, T_out, C, H, W); logits (B, K); hidden states (B, T, |V|, C, H, W).
 *  - Counts are element counts, checked against what the call needs.
 *  - Parameters live in one flat buffer, each tensor at its offset with its reference
 *    (PyTorch state_dict) name and shape (OIHW weights); gradients share that layout.
 *    BatchNorm running statistics are a second flat buffer, their num_batches_tracked
 *    counters a third (int64). Constants (fixed shift kernels, steerable bases) are part of
 *    the reference state_dict but not learned: read them, never write them.
 *  - Opening the first model sets glibc's M_MMAP_THRESHOLD and M_TRIM_THRESHOLD to 1 GiB in
 *    the calling process, as the fernn command does: BPTT frees and allocates the same large
 *    buffers every step, and mapping them anew each time costs a page fault per 4 KiB (a
 *    quarter of a training step). Set FERNN_KEEP_MALLOC_SETTINGS=1 to leave them alone.
 */
#ifndef FERNN_H
#define FERNN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FERNN_API_VERSION 1

typedef enum fernn_status {
    FERNN_OK = 0,
    FERNN_INVALID_INPUT = 1,   /* bad spec, file, shape, count or argument (the CLI's exit 2) */
    FERNN_INVALID_STATE = 2,   /* out of order, e.g. a backward with no forward kept for it */
    FERNN_UNAVAILABLE = 3,     /* not in this build or on this machine: the compiler, CUDA */
    FERNN_RUNTIME_ERROR = 4    /* a pipeline, the file system or memory failed */
} fernn_status;

typedef struct fernn_model fernn_model;
typedef struct fernn_pass fernn_pass;

/* The version this library implements (FERNN_API_VERSION of its header). */
int fernn_api_version(void);
/* The message of this thread's last failing call ("" if none). Valid until the next call. */
const char *fernn_last_error(void);

/* ---- Opening ------------------------------------------------------------------------------ */

/* A model compiled by `fernn compile` (DIR holds one manifest and its library). */
fernn_status fernn_open(const char *model_dir, fernn_model **model);

/* A spec file, with `--set`-style overrides ("recurrence.channels=32"), compiled for `target`
 * ("host", or "host,cuda" for GPUs) and `precision` ("float32", "float64") into the cache
 * `cache_dir` (NULL: $FERNN_CACHE, else ~/.cache/fernn) on first use, then opened.
 * FERNN_UNAVAILABLE from a library built without the compiler (libfernn_run.so). */
fernn_status fernn_compile(const char *spec_path, const char *const *overrides,
                           size_t override_count, const char *target, const char *precision,
                           const char *cache_dir, fernn_model **model);

/* Frees the model and everything it holds; NULL is allowed. */
void fernn_free(fernn_model *model);

/* Halide worker threads for this model's pipelines (0: one per core). */
fernn_status fernn_set_threads(fernn_model *model, int threads);
/* "cpu", or "cuda" for a library compiled with a CUDA target (FERNN_UNAVAILABLE without a
 * CUDA device). Parameters, statistics and anything kept move with it; a forward kept for
 * the backward is dropped. */
fernn_status fernn_use_device(fernn_model *model, const char *device);

/* ---- What the model is ------------------------------------------------------------------- */

typedef struct fernn_info {
    int element_bytes;       /* 4: float32 model, 8: float64 build */
    int classifies;          /* 0: predicts frames, 1: classifies sequences (logits) */
    int has_batchnorm;       /* 1 if forward's mode matters (fernn_forward's FERNN_TRAIN) */
    int layers;              /* recurrent layers */
    int64_t channels, height, width;      /* one input frame */
    int64_t input_frames, output_frames;  /* the spec's sequence lengths (defaults) */
    int64_t classes;         /* K of a classifier, else 0 */
    int64_t copies;          /* |V|: copies of the hidden state (velocities, orientations) */
    int64_t parameter_count; /* elements of the flat parameter (and gradient) buffer */
    int64_t statistic_count; /* elements of the flat running-statistics buffer */
    int64_t counter_count;   /* num_batches_tracked counters (int64) */
    int64_t tensor_counts[5]; /* tensors in each fernn_group */
} fernn_info;
fernn_status fernn_get_info(const fernn_model *model, fernn_info *info);

typedef enum fernn_group {
    FERNN_PARAMETERS = 0,  /* learned; elements of the model's type */
    FERNN_STATISTICS = 1,  /* BatchNorm running_mean / running_var; the model's type */
    FERNN_COUNTERS = 2,    /* BatchNorm num_batches_tracked; int64, one element each */
    FERNN_CONSTANTS = 3,   /* fixed by the spec; the model's type; read only */
    FERNN_DERIVED = 4      /* computed from the parameters, in the reference's state_dict
                              (escnn's expanded `filter`, eval mode); read only */
} fernn_group;

#define FERNN_MAX_RANK 8
typedef struct fernn_tensor_info {
    const char *name;       /* reference state_dict name; valid while the model is */
    int rank;
    int64_t shape[FERNN_MAX_RANK];
    int64_t offset;         /* first element in the group's flat buffer */
    int64_t count;          /* elements */
    double tolerance;       /* constants: how far a checkpoint's copy may differ; else 0 */
} fernn_tensor_info;
fernn_status fernn_get_tensor(const fernn_model *model, fernn_group group, int64_t index,
                              fernn_tensor_info *info);

/* Everything above and more as one JSON document (the normalized spec, the velocity order,
 * the plan's tensors and pipelines, the manifest): valid while the model is. */
fernn_status fernn_describe(const fernn_model *model, const char **json);

/* ---- Weights ----------------------------------------------------------------------------- */

/* PyTorch's default initialization for every module, from a fixed-algorithm generator: the
 * same seed gives the same weights as `fernn init --seed`. Statistics and counters reset. */
fernn_status fernn_init(fernn_model *model, uint64_t seed);

/* Copies a group's flat buffer out of (read) or into (write) the model. `count` must be the
 * group's size (the sum of its tensors' counts, each at its offset); counters are int64_t.
 * Constants and derived tensors cannot be written. */
fernn_status fernn_read(fernn_model *model, fernn_group group, void *data, int64_t count);
fernn_status fernn_write(fernn_model *model, fernn_group group, const void *data, int64_t count);

/* CPU models only: the model reads its parameters from `data` (parameter_count elements)
 * in place, without a copy, until fernn_bind_parameters(model, NULL, 0) copies them back into
 * the model's own memory. The caller keeps `data` alive and unchanged during calls; writes
 * to the parameters (fernn_write, fernn_init, fernn_load) go to `data`. */
fernn_status fernn_bind_parameters(fernn_model *model, void *data, int64_t count);

/* safetensors checkpoints with the reference names (`fernn init/train` write them; they
 * load into the PyTorch reference with load_state_dict(strict=True) and back). */
fernn_status fernn_load(fernn_model *model, const char *path);
fernn_status fernn_save(fernn_model *model, const char *path);

/* ---- Running ----------------------------------------------------------------------------- */

/* A pass holds one forward for its backward (all of the states and activations BPTT reads).
 * Every run call takes one; NULL is the model's own. Its memory is reused by the next forward
 * into it. Free a pass before its model; fernn_use_device empties every pass. */
fernn_status fernn_pass_create(fernn_model *model, fernn_pass **pass);
void fernn_pass_free(fernn_pass *pass); /* NULL is allowed */

enum {
    FERNN_EVAL = 0,   /* BatchNorm normalizes with its running statistics */
    FERNN_TRAIN = 1,  /* BatchNorm uses batch statistics and moves the running ones */
    FERNN_KEEP = 2    /* keep what fernn_backward and fernn_hidden_states read */
};

/* The output shape of a forward over (batch, input_frames) predicting output_frames
 * (ignored by classifiers): rank 5 (B, T_out, C, H, W) or 2 (B, K). */
fernn_status fernn_output_shape(const fernn_model *model, int64_t batch, int64_t input_frames,
                                int64_t output_frames, int64_t shape[5], int *rank);

/* Runs inputs (B, T_in, C, H, W), `input_shape` holding those 5 numbers, and writes the
 * outputs (output_count elements, fernn_output_shape) unless `outputs` is NULL. Frame
 * predictors predict `output_frames` frames (-1: the spec's), feeding each prediction back as
 * the reference does (no gradient flows through what is fed back). `flags`: FERNN_TRAIN,
 * FERNN_KEEP. The backward of BatchNorm is compiled for training mode: on a model with
 * BatchNorm, a forward kept without FERNN_TRAIN serves fernn_hidden_states, not the backward. */
fernn_status fernn_forward(fernn_model *model, fernn_pass *pass, const void *inputs,
                           const int64_t input_shape[5], int64_t output_frames, int flags,
                           void *outputs, int64_t output_count);

/* Backpropagation through time from the pass's forward (made with FERNN_KEEP): given dL/d(outputs)
 * of any loss (output_count elements, shaped as the outputs), writes dL/d(parameters) into
 * `gradients` (parameter_count elements, the parameters' layout; overwritten, not added).
 * It may run again on the same forward with another output gradient. The inputs get no
 * gradient. */
fernn_status fernn_backward(fernn_model *model, fernn_pass *pass, const void *output_gradient,
                            int64_t output_count, void *gradients, int64_t gradient_count);

/* Hidden states of recurrent layer `layer` after each input step of the pass's forward (made
 * with FERNN_KEEP): (B, T_in, |V|, C_layer, H, W); `count` must be that many elements. The
 * order of V is the describe document's "velocities". */
fernn_status fernn_hidden_states(fernn_model *model, fernn_pass *pass, int layer, void *states,
                                 int64_t count);
/* Its shape: rank 6. */
fernn_status fernn_hidden_shape(const fernn_model *model, const fernn_pass *pass, int layer,
                                int64_t shape[6]);

#ifdef __cplusplus
}
#endif

#endif /* FERNN_H */
