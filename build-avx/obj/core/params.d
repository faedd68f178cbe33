build-avx/obj/core/params.o: core/params.c core/llc_model.h \
 core/llc_common.h
core/llc_model.h:
core/llc_common.h:
