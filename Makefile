# PGXS build of the extension: trajc.so (core + Postgres boundary), the SQL
# scripts in sql/, and `make installcheck`: the pg_regress cases
# test/regress/sql/*.sql against test/regress/expected/*.out (pgvector's
# layout). Nothing but install scripts may live in sql/: DATA installs them all.
EXTENSION = trajc
MODULE_big = trajc
CORE_SRCS = $(sort $(wildcard src/core/*.cpp))
PG_SRCS = $(sort $(wildcard src/pg/*.cpp))
OBJS = $(CORE_SRCS:.cpp=.o) $(PG_SRCS:.cpp=.o)
DATA = $(wildcard sql/trajc--*.sql)
REGRESS_SQL = $(sort $(wildcard test/regress/sql/*.sql))
REGRESS = $(patsubst test/regress/sql/%.sql,%,$(REGRESS_SQL))
REGRESS_OPTS = --inputdir=test/regress --load-extension=trajc

PG_CONFIG ?= pg_config
PG_CPPFLAGS = -Iinclude
PG_CXXFLAGS = -std=c++17 -Wno-register -fexceptions
SHLIB_LINK = -lcurl -lstdc++

# Debian's PGXS would also compile every .cpp to LLVM bitcode with clang and
# without our C++ flags; the JIT gains nothing here. Must precede the include.
override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
