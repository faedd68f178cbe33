build-avx/obj/core/json.o: core/json.c core/llc_json.h core/llc_common.h
core/llc_json.h:
core/llc_common.h:
