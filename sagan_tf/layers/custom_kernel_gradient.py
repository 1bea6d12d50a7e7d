"""A convolution's output with its kernel gradient computed by a function of our own."""

from keras import ops


def with_kernel_gradient(kernel_gradient):
    """f(y, x, kernel) -> y, whose backward pass sends dL/dy on unchanged (to the ops
    that made y from x and a stopped-gradient kernel, which give dL/dx) and gives
    dL/dkernel = `kernel_gradient(x, dL/dy)`, cast to kernel's dtype.

    Used by the sub-pixel and strided forms, whose kernel gradients are taken for the
    3x3 kernel directly instead of by autodiff of their 2x2 and 4x4 convolutions.
    """

    @ops.custom_gradient
    def attach(y, x, kernel):
        def grad(*args, upstream=None):
            dy = args[0] if upstream is None else upstream
            return dy, None, ops.cast(kernel_gradient(x, dy), kernel.dtype)

        return y, grad

    return attach
