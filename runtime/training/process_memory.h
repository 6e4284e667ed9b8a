#pragma once
// What this process may still allocate and what it has used: the trainer checks a run's BPTT
// memory against the first before it starts, `train` and `bench` report the second. And how
// glibc should treat the large buffers BPTT frees and allocates again every step.

namespace fernn {

// Bytes available to this process: MemAvailable, or the cgroup's limit minus its use where
// that is tighter (containers, CI).
double available_memory_bytes();

// The largest resident set this process has had, in GiB (children, such as a compile, excluded).
double peak_memory_gib();

// BPTT allocates and frees the same large buffers every step (the runtime's states, the
// pipelines' padded temporaries). glibc would map and unmap each of them, paying a page fault
// per 4 KiB every time (25-30 % of a training step, measured); this keeps freed memory in the
// heap for reuse (M_MMAP_THRESHOLD and M_TRIM_THRESHOLD at 1 GiB), once per process. The
// fernn commands call it first thing, the C API on opening its first model unless
// $FERNN_KEEP_MALLOC_SETTINGS is set.
void keep_freed_memory_for_reuse();

}  // namespace fernn
