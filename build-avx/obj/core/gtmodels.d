build-avx/obj/core/gtmodels.o: core/gtmodels.c core/llc_gtmodels.h \
 core/llc_model.h core/llc_common.h
core/llc_gtmodels.h:
core/llc_model.h:
core/llc_common.h:
