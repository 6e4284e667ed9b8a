"""The exceptions of fernn, one per status of the C API (runtime/capi/fernn.h)."""


class Error(Exception):
    """Anything fernn refused or failed to do; the message says what and why."""


class InputError(Error, ValueError):
    """Bad input: a spec (with its file and JSON path), an override, a file, a shape, an
    argument. The command line exits with code 2 on these."""


class StateError(Error, RuntimeError):
    """A call out of order, e.g. a backward with no forward kept for it."""


class UnavailableError(Error, RuntimeError):
    """Not in this build or on this machine: the compiler (libfernn_run.so), a CUDA device."""


class RuntimeFailure(Error, RuntimeError):
    """A pipeline, the file system or memory failed."""


# By fernn_status value (FERNN_OK = 0 raises nothing).
BY_STATUS = {1: InputError, 2: StateError, 3: UnavailableError, 4: RuntimeFailure}
