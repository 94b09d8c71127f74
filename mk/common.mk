# Shared build settings. Every component fragment (*/build.mk) uses these.
# BUILD is the output tree; `make check-asan` reuses the same rules with
# BUILD=build/asan SANITIZE=1, so nothing here may assume BUILD=build.

BUILD    ?= build
CC       ?= cc
AR       ?= ar
SANITIZE ?= 0
PKG_CONFIG ?= pkg-config

WARN     := -Wall -Wextra -Werror
CSTD     := -std=c17 -D_DEFAULT_SOURCE
OPT      ?= -O2 -g
CFLAGS   ?=
override CFLAGS += $(CSTD) $(WARN) $(OPT) -MMD -MP
LDFLAGS  ?=
LDLIBS   ?=

ifeq ($(SANITIZE),1)
override CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
override LDFLAGS += -fsanitize=address,undefined
endif
# Fibers register their stacks with valgrind where its header is installed
# (runtime/src/fiber.c), so programs run clean under memcheck.
ifeq ($(shell $(PKG_CONFIG) --exists valgrind 2>/dev/null && echo yes),yes)
override CFLAGS += -DDSP_HAVE_VALGRIND_H
endif
# `make tsan`: the runtime and its threaded tests under ThreadSanitizer.
ifeq ($(SANITIZE),thread)
override CFLAGS  += -fsanitize=thread -fno-omit-frame-pointer
override LDFLAGS += -fsanitize=thread
endif

CURL_CFLAGS   := $(shell $(PKG_CONFIG) --cflags libcurl 2>/dev/null)
CURL_LIBS     := $(shell $(PKG_CONFIG) --libs libcurl 2>/dev/null || echo -lcurl)
CJSON_CFLAGS  := $(shell $(PKG_CONFIG) --cflags libcjson 2>/dev/null)
CJSON_LIBS    := $(shell $(PKG_CONFIG) --libs libcjson 2>/dev/null || echo -lcjson)
SQLITE_LIBS   := $(shell $(PKG_CONFIG) --libs sqlite3 2>/dev/null || echo -lsqlite3)
CMOCKA_LIBS   := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)
MHD_LIBS      := $(shell $(PKG_CONFIG) --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd)
TS_LIBS       := $(shell $(PKG_CONFIG) --libs tree-sitter 2>/dev/null || echo -ltree-sitter)
CRYPTO_LIBS   := $(shell $(PKG_CONFIG) --libs libcrypto 2>/dev/null || echo -lcrypto)
HIREDIS_LIBS  := $(shell $(PKG_CONFIG) --libs hiredis 2>/dev/null || echo -lhiredis)
ZLIB_LIBS     := $(shell $(PKG_CONFIG) --libs zlib 2>/dev/null || echo -lz)

# Every fragment adds to these.
BINS         :=
TEST_BINS    :=
TEST_SCRIPTS :=

# One pattern rule compiles every C file of the repository into the build tree.
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CPPFLAGS) -c $< -o $@
