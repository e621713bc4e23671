"""Machine code generated at run time through LLVM (llvmlite), for the convolution kernels.

Why: a convolution with few channels (ResNet's 16 and 32) is a matrix product with a small
dimension, where OpenBLAS reaches a third of the machine's peak (measured: 50 GFLOP/s on
(131072×144)·(144×16) against 190 GFLOP/s on large squares), and no NumPy formulation gets
around it. The fast libraries (oneDNN, which PyTorch uses) generate a register-blocked
micro-kernel for each shape at run time. fovea does the same with LLVM: the kernels in
:mod:`fovea.backends.cpu.conv.jit_taps` are emitted as LLVM IR with explicit vector types,
optimised and compiled for the host CPU (AVX-512, AVX2 or whatever it has: LLVM picks the
instructions), and called through ctypes, which releases the GIL so fovea's own threads
(:mod:`fovea.backends.cpu.threads`) run them on all cores.

llvmlite comes with Numba (a fovea dependency) and installs from PyPI as a wheel, with no
compiler needed. Without it, or with ``FOVEA_JIT=0`` (:mod:`fovea.config`), :func:`available`
is False and every caller runs its NumPy/BLAS code instead (the tests run both).

This module knows nothing about convolutions: it turns an ``llvmlite.ir.Module`` into
callable functions (:func:`compile_module`) and offers a few IR-building helpers.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading

from fovea import config

_lock = threading.Lock()
_state: dict = {"checked": False, "ok": False, "tm": None, "engines": [], "vector": (16, 16)}


def available() -> bool:
    """Whether run-time compiled kernels are on: llvmlite works and ``FOVEA_JIT`` != ``0``."""
    if not config.settings().jit:
        return False
    if not _state["checked"]:
        with _lock:
            if not _state["checked"]:
                _state["ok"] = _init()
                _state["checked"] = True
    return _state["ok"]


def _init() -> bool:
    try:
        import llvmlite.binding as llvm

        if not hasattr(llvm, "create_pass_builder"):  # llvmlite < 0.44: no new pass manager
            return False
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        target = llvm.Target.from_default_triple()
        features = llvm.get_host_cpu_features()
        _state["tm"] = target.create_target_machine(
            cpu=llvm.get_host_cpu_name(), features=features.flatten(), opt=3,
            codemodel="jitdefault")
        if features.get("avx512f"):
            _state["vector"] = (64, 32)
        elif features.get("avx"):
            _state["vector"] = (32, 16)
    except Exception:  # noqa: BLE001 - any failure means "no JIT": callers fall back
        return False
    return True


def vector_shape() -> tuple[int, int]:
    """(bytes per vector register, number of vector registers) of the host CPU, as far as
    kernels should plan for: (64, 32) with AVX-512, (32, 16) with AVX/AVX2, else (16, 16)."""
    available()
    return _state["vector"]


def compile_module(module, signatures: dict[str, tuple]) -> dict[str, object]:
    """Optimise and compile ``module`` (an ``llvmlite.ir.Module``) for the host CPU.

    Args:
        module: the IR; its triple is set here.
        signatures: function name -> ctypes argument types (the functions return nothing).

    Returns:
        name -> ctypes function. The compiled code lives as long as the process.
    """
    import llvmlite.binding as llvm

    if not available():
        raise RuntimeError("compile_module: run-time compilation is not available")
    tm = _state["tm"]
    module.triple = llvm.get_process_triple()
    with _lock:
        mod = llvm.parse_assembly(str(module))
        mod.verify()
        pto = llvm.create_pipeline_tuning_options(speed_level=3)
        pb = llvm.create_pass_builder(tm, pto)
        pb.getModulePassManager().run(mod, pb)
        engine = llvm.create_mcjit_compiler(mod, tm)
        engine.finalize_object()
        _state["engines"].append(engine)  # keeps the machine code alive
        return {name: ctypes.CFUNCTYPE(None, *args)(engine.get_function_address(name))
                for name, args in signatures.items()}


# --- IR helpers -------------------------------------------------------------------------------

@contextlib.contextmanager
def counted_loop(b, start, stop, step, name: str):
    """``for i in range(start, stop, step)`` (step > 0) around the body built in the block.

    Yields the induction variable (an i64 value). ``start``/``stop``/``step`` are i64
    values (constants or computed).
    """
    from llvmlite import ir

    i64 = ir.IntType(64)
    pre = b.block
    head = b.append_basic_block(f"{name}.head")
    body = b.append_basic_block(f"{name}.body")
    end = b.append_basic_block(f"{name}.end")
    b.branch(head)
    b.position_at_end(head)
    i = b.phi(i64, name=name)
    i.add_incoming(start, pre)
    b.cbranch(b.icmp_signed("<", i, stop), body, end)
    b.position_at_end(body)
    yield i
    nxt = b.add(i, step)
    i.add_incoming(nxt, b.block)
    b.branch(head)
    b.position_at_end(end)


def splat(b, scalar, vec_type):
    """A vector with every lane ``scalar``."""
    from llvmlite import ir

    one = b.insert_element(ir.Constant(vec_type, ir.Undefined), scalar,
                           ir.Constant(ir.IntType(32), 0))
    mask = ir.Constant(ir.VectorType(ir.IntType(32), vec_type.count), [0] * vec_type.count)
    return b.shuffle_vector(one, ir.Constant(vec_type, ir.Undefined), mask)


def fma_intrinsic(module, vec_type):
    """Declare (once) and return ``llvm.fma`` for ``vec_type``."""
    from llvmlite import ir

    elem = "f32" if isinstance(vec_type.element, ir.FloatType) else "f64"
    name = f"llvm.fma.v{vec_type.count}{elem}"
    if name in module.globals:
        return module.globals[name]
    return ir.Function(module, ir.FunctionType(vec_type, [vec_type] * 3), name)


def vector_at(b, base, index, vec_type):
    """Pointer to the vector starting at element ``index`` of scalar pointer ``base``."""
    return b.bitcast(b.gep(base, [index]), vec_type.as_pointer())
