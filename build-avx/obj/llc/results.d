build-avx/obj/llc/results.o: llc/results.c llc/llc_results.h \
 llc/../core/llc_store.h llc/../core/llc_common.h llc/llc_estimate.h \
 llc/../core/llc_model.h llc/../tasks/llc_task.h \
 llc/../tasks/../core/llc_common.h llc/../sgld/llc_sgld.h \
 llc/../sgld/../core/llc_model.h
llc/llc_results.h:
llc/../core/llc_store.h:
llc/../core/llc_common.h:
llc/llc_estimate.h:
llc/../core/llc_model.h:
llc/../tasks/llc_task.h:
llc/../tasks/../core/llc_common.h:
llc/../sgld/llc_sgld.h:
llc/../sgld/../core/llc_model.h:
