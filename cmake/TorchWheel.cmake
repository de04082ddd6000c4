# LibTorch from the pinned pip `torch` wheel (ci/setup installs it into .venv/), as one INTERFACE target
# amt_torch. Our own module instead of the wheel's TorchConfig.cmake, because that config
#   - finds libtorch.so and libc10.so with find_library's default paths: on a machine that also has Debian's
#     libtorch-dev it silently links Debian's 1.13 libraries beside the wheel's headers (seen here);
#   - requires the CUDA Toolkit even for a CPU-only link, probes GPU architectures and warns about Kineto.
# Every library here comes from the wheel's torch/lib and nowhere else.
#
# In:  AMT_TORCH_PYTHON (default .venv/bin/python), AMT_CUDA (link libtorch_cuda; needs the CUDA Toolkit).
# Out: target amt_torch; AMT_TORCH_DIR (the wheel's torch/ folder), AMT_TORCH_VERSION.

set(AMT_TORCH_PYTHON "${CMAKE_SOURCE_DIR}/.venv/bin/python" CACHE FILEPATH
    "Python of the virtual environment holding the pinned torch wheel (ci/setup creates .venv/)")
if(NOT EXISTS "${AMT_TORCH_PYTHON}")
  message(FATAL_ERROR "No ${AMT_TORCH_PYTHON}: run `bash ci/setup` (it installs the pinned torch wheel into "
                      ".venv/), or point -DAMT_TORCH_PYTHON at a Python that has it")
endif()
execute_process(
  COMMAND "${AMT_TORCH_PYTHON}" -c
          "import os, torch; print(os.path.dirname(torch.__file__)); print(torch.__version__)"
  OUTPUT_VARIABLE _amt_torch_out RESULT_VARIABLE _amt_torch_rc ERROR_VARIABLE _amt_torch_err
  OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT _amt_torch_rc EQUAL 0)
  message(FATAL_ERROR "${AMT_TORCH_PYTHON} cannot import torch: ${_amt_torch_err}")
endif()
string(REPLACE "\n" ";" _amt_torch_out "${_amt_torch_out}")
list(GET _amt_torch_out 0 AMT_TORCH_DIR)
list(GET _amt_torch_out 1 AMT_TORCH_VERSION)
message(STATUS "AMT-Ref: LibTorch ${AMT_TORCH_VERSION} from ${AMT_TORCH_DIR}")

function(amt_torch_library var name)
  find_library(${var} NAMES ${name} PATHS "${AMT_TORCH_DIR}/lib" NO_DEFAULT_PATH NO_CACHE)
  if(NOT ${var})
    message(FATAL_ERROR "lib${name}.so is not in ${AMT_TORCH_DIR}/lib (a CPU-only or broken torch wheel?)")
  endif()
  set(${var} "${${var}}" PARENT_SCOPE)
endfunction()

amt_torch_library(_amt_libtorch torch)
amt_torch_library(_amt_libtorch_cpu torch_cpu)
amt_torch_library(_amt_libc10 c10)

add_library(amt_torch INTERFACE)
target_include_directories(amt_torch SYSTEM INTERFACE "${AMT_TORCH_DIR}/include"
                                                      "${AMT_TORCH_DIR}/include/torch/csrc/api/include")
# The wheel is built with the C++11 ABI (torch._C._GLIBCXX_USE_CXX11_ABI is True), as is Debian 12's g++,
# and with Gloo inside libtorch_cpu: ProcessGroupGloo.hpp declares its class only under USE_C10D_GLOO.
target_compile_definitions(amt_torch INTERFACE _GLIBCXX_USE_CXX11_ABI=1 USE_DISTRIBUTED USE_C10D_GLOO)
# libtorch.so itself is almost empty in the CUDA wheel and NEEDs libtorch_cuda.so: linked only for a CUDA build,
# so that AMT_CUDA=OFF really is CPU-only (no CUDA backend registered; --version says "CPU only").
target_link_libraries(amt_torch INTERFACE "${_amt_libtorch_cpu}" "${_amt_libc10}")

if(AMT_CUDA)
  find_package(CUDAToolkit REQUIRED)
  target_link_libraries(amt_torch INTERFACE "${_amt_libtorch}")
  amt_torch_library(_amt_libtorch_cuda torch_cuda)
  amt_torch_library(_amt_libc10_cuda c10_cuda)
  # Nothing of ours calls into libtorch_cuda directly: it registers the CUDA backend from its static
  # initialisers, so it must stay linked (--no-as-needed), as TorchConfig.cmake does.
  target_link_libraries(amt_torch INTERFACE -Wl,--no-as-needed "${_amt_libtorch_cuda}" -Wl,--as-needed
                                            "${_amt_libc10_cuda}")
  # c10/cuda headers include the CUDA runtime's; the runtime library itself comes from the wheel's nvidia/
  # packages through libtorch_cuda's RPATH, so we link none of the toolkit's.
  target_include_directories(amt_torch SYSTEM INTERFACE ${CUDAToolkit_INCLUDE_DIRS})
  target_compile_definitions(amt_torch INTERFACE AMT_WITH_CUDA=1)
  message(STATUS "AMT-Ref: CUDA build (libtorch_cuda; CUDA Toolkit ${CUDAToolkit_VERSION})")
else()
  target_compile_definitions(amt_torch INTERFACE AMT_WITH_CUDA=0)
  message(STATUS "AMT-Ref: CPU-only build (AMT_CUDA=OFF)")
endif()
