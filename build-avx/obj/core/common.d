build-avx/obj/core/common.o: core/common.c core/llc_common.h
core/llc_common.h:
