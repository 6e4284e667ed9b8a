#pragma once
// What this process may still allocate and what it has used: the trainer checks a run's BPTT
// memory against the first before it starts, `train` and `bench` report the second.

namespace fernn {

// Bytes available to this process: MemAvailable, or the cgroup's limit minus its use where
// that is tighter (containers, CI).
double available_memory_bytes();

// The largest resident set this process has had, in GiB (children, such as a compile, excluded).
double peak_memory_gib();

}  // namespace fernn
