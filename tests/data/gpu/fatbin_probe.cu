// Two kernels compiled into fatbin_sm80_sm90ptx.o (tests/test_gpu_env.py reads
// its .nv_fatbin section: sm_80 and sm_90 machine code, compute_90 PTX) with
// nvcc 13.0:
//   nvcc -c -Xcompiler -fPIC -gencode arch=compute_80,code=sm_80 \
//     -gencode arch=compute_90,code=[sm_90,compute_90] fatbin_probe.cu \
//     -o fatbin_sm80_sm90ptx.o
// cuobjdump --list-elf --list-ptx on it: ELF sm_80, ELF sm_90, PTX sm_90.
__global__ void nms_kernel_probe(float *x) { x[threadIdx.x] *= 2.f; }
__global__ void roi_align_probe(float *x) { x[threadIdx.x] += 1.f; }
void launch(float *x) { nms_kernel_probe<<<1, 32>>>(x); roi_align_probe<<<1,32>>>(x); }
