// OpenBLAS's CBLAS interface (Debian: /usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h).
#ifndef DCFT_COPENBLAS_SHIM_H
#define DCFT_COPENBLAS_SHIM_H
#include <cblas.h>
// Declared by OpenBLAS (not by every cblas.h): thread control and build info.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_config(void);
char *openblas_get_corename(void);
#endif
