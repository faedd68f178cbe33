build-avx/obj/core/kernels.o: core/kernels.c core/llc_kernels.h
core/llc_kernels.h:
