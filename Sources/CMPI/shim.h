// Accessors for Open MPI handles that are macros over globals Swift cannot import.
#ifndef DCFT_CMPI_SHIM_H
#define DCFT_CMPI_SHIM_H
#include <mpi.h>

static inline MPI_Comm dcft_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype dcft_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype dcft_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype dcft_mpi_int32(void) { return MPI_INT32_T; }
static inline MPI_Datatype dcft_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype dcft_mpi_uint8(void) { return MPI_UINT8_T; }
static inline MPI_Datatype dcft_mpi_uint64(void) { return MPI_UINT64_T; }
static inline MPI_Op dcft_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op dcft_mpi_max(void) { return MPI_MAX; }
static inline MPI_Op dcft_mpi_min(void) { return MPI_MIN; }
static inline void *dcft_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline int dcft_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline int dcft_mpi_success(void) { return MPI_SUCCESS; }
static inline MPI_Errhandler dcft_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline int dcft_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static inline int dcft_mpi_max_processor_name(void) { return MPI_MAX_PROCESSOR_NAME; }
static inline MPI_Status *dcft_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Request dcft_mpi_request_null(void) { return MPI_REQUEST_NULL; }
#endif
