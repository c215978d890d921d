# PGXS build of the extension: trajc.so (core + Postgres boundary), the SQL
# scripts, and pg_regress cases (sql/*.sql against expected/*.out).
EXTENSION = trajc
MODULE_big = trajc
CORE_SRCS = $(sort $(wildcard src/core/*.cpp))
PG_SRCS = $(sort $(wildcard src/pg/*.cpp))
OBJS = $(CORE_SRCS:.cpp=.o) $(PG_SRCS:.cpp=.o)
DATA = $(wildcard sql/trajc--*.sql)
REGRESS = $(sort $(basename $(notdir $(filter-out sql/trajc--%,$(wildcard sql/*.sql)))))
REGRESS_OPTS = --load-extension=trajc

PG_CONFIG ?= pg_config
PG_CPPFLAGS = -Iinclude
PG_CXXFLAGS = -std=c++17 -Wno-register -fexceptions
SHLIB_LINK = -lcurl -lstdc++

# Debian's PGXS would also compile every .cpp to LLVM bitcode with clang and
# without our C++ flags; the JIT gains nothing here. Must precede the include.
override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
