build-avx/obj/core/store.o: core/store.c core/llc_store.h \
 core/llc_common.h
core/llc_store.h:
core/llc_common.h:
