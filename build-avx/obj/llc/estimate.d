build-avx/obj/llc/estimate.o: llc/estimate.c llc/llc_estimate.h \
 llc/../core/llc_model.h llc/../core/llc_common.h llc/../tasks/llc_task.h \
 llc/../tasks/../core/llc_common.h llc/../sgld/llc_sgld.h \
 llc/../sgld/../core/llc_model.h
llc/llc_estimate.h:
llc/../core/llc_model.h:
llc/../core/llc_common.h:
llc/../tasks/llc_task.h:
llc/../tasks/../core/llc_common.h:
llc/../sgld/llc_sgld.h:
llc/../sgld/../core/llc_model.h:
