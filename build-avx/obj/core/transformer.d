build-avx/obj/core/transformer.o: core/transformer.c core/llc_kernels.h \
 core/llc_model.h core/llc_common.h
core/llc_kernels.h:
core/llc_model.h:
core/llc_common.h:
