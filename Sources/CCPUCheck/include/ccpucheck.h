// Run-time check of the instruction set a release build was compiled for. Compiled for the
// baseline x86-64 (no -target-cpu), so it runs on any x86-64 CPU before any code that may use
// AVX2 does.
#ifndef DCFT_CCPUCHECK_H
#define DCFT_CCPUCHECK_H
/// 1 if the CPU has AVX2, FMA and BMI2 (x86-64-v3, LLVM's "haswell"); 1 on other architectures.
int dcft_cpu_has_x86_64_v3(void);
#endif
