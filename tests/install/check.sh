#!/usr/bin/env bash
# Every way into the installed C library, from a clean temporary prefix (what .ci/run runs after the
# tests): scripts/install.sh, the installed tree, the SONAME, the symbols the libraries export, the headers
# in C89 to C2x and C++17, examples/c through pkg-config (shared and static), the README's C and CMake
# snippets, the C++ wrapper's tests through CMake under AddressSanitizer and UndefinedBehaviorSanitizer
# (shared and static), the CMake version file, a moved prefix, a DESTDIR install, and two Rust static
# libraries in one C program.
#
# Needs gcc, g++, make, pkg-config, cmake, binutils and the sanitizer runtimes (CI installs them), and
# cargo. CARGO_TARGET_DIR is used as for any build. The temporary directory is removed when everything
# passed and kept for a look when something failed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

checks_name=install
# shellcheck source=scripts/check-helpers.sh
source scripts/check-helpers.sh
prefix=$work/prefix
checks=0

step() {
    checks=$((checks + 1))
    printf '\n-- %s\n' "$*"
}

major=${version%%.*}
minor=${version#*.}
minor=${minor%%.*}
if [ "$major" = 0 ]; then abi=0.$minor; else abi=$major; fi
soname=libpieces_os_client.so.$abi

step "scripts/install.sh --prefix $prefix"
scripts/install.sh --prefix "$prefix"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
export CMAKE_PREFIX_PATH=$prefix
lib=$prefix/lib

step "the installed tree"
(cd "$prefix" && find . | sort) | tee "$work/tree"
cat >"$work/expected-tree" <<EOF
.
./include
./include/pieces_os_client.h
./include/pieces_os_client.hpp
./lib
./lib/cmake
./lib/cmake/PiecesOsClient
./lib/cmake/PiecesOsClient/PiecesOsClientConfig.cmake
./lib/cmake/PiecesOsClient/PiecesOsClientConfigVersion.cmake
./lib/libpieces_os_client.a
./lib/libpieces_os_client.so
./lib/libpieces_os_client.so.$abi
./lib/libpieces_os_client.so.$version
./lib/pkgconfig
./lib/pkgconfig/pieces_os_client-static.pc
./lib/pkgconfig/pieces_os_client.pc
EOF
diff -u "$work/expected-tree" "$work/tree" || fail "the installed tree is not the expected one"
cmp include/pieces_os_client.h "$prefix/include/pieces_os_client.h" ||
    fail "the installed header differs from the committed include/pieces_os_client.h"

step "SONAME $soname and the versioned file names"
readelf -d "$lib/libpieces_os_client.so.$version" | grep -F "Library soname: [$soname]" ||
    fail "the shared library's SONAME is not $soname"
[ "$(readlink "$lib/$soname")" = "libpieces_os_client.so.$version" ] || fail "$soname does not point at the real file"
[ "$(readlink "$lib/libpieces_os_client.so")" = "$soname" ] || fail "libpieces_os_client.so does not point at $soname"

step "the shared library exports the header's pieces_* functions and nothing else (nm -D --defined-only)"
nm -D --defined-only "$lib/libpieces_os_client.so" | awk '{ print $NF }' | sort >"$work/exported"
if grep -v '^pieces_' "$work/exported"; then
    fail "the shared library exports the symbols above, which are not pieces_* functions"
fi
grep -E '^[a-z_]+( [a-z_]+)* \*?pieces_[a-z_]+\(' "$prefix/include/pieces_os_client.h" |
    sed -E 's/^.*[ *](pieces_[a-z_]+)\(.*$/\1/' | sort >"$work/declared"
diff -u "$work/declared" "$work/exported" || fail "the exported functions differ from the header's declarations"
strip -o "$work/stripped.so" "$lib/libpieces_os_client.so"
echo "exported: $(wc -l <"$work/exported") functions; the library is $(stat -c %s "$lib/libpieces_os_client.so.$version") bytes, stripped $(stat -c %s "$work/stripped.so")"

step "the static library keeps every symbol but the pieces_* functions to itself"
nm -g --defined-only "$lib/libpieces_os_client.a" | awk 'NF == 3 { print $3 }' | sort >"$work/static-globals"
if grep -v '^pieces_' "$work/static-globals"; then
    fail "the static library has the global symbols above, which are not pieces_* functions"
fi
diff -u "$work/declared" "$work/static-globals" || fail "the static library's functions differ from the header's"

step "pkg-config: the flags of both modules"
pkg-config --modversion pieces_os_client | grep -Fx "$version"
pkg-config --cflags --libs pieces_os_client
pkg-config --static --libs pieces_os_client | tee "$work/static-flags"
grep -q -- '-lpthread' "$work/static-flags" || fail "pkg-config --static gives no Libs.private"
pkg-config --libs pieces_os_client-static | grep -F "$lib/libpieces_os_client.a"

step "the headers compile with the flags pkg-config gives: C89, C99, C11, C17, C2x and C++17, each included twice"
printf '#include <pieces_os_client.h>\n#include <pieces_os_client.h>\nint main(void) { return pieces_version() == 0; }\n' >"$work/header.c"
for standard in c89 c99 c11 c17 c2x; do
    # shellcheck disable=SC2046 # pkg-config's flags are meant to be split
    gcc "-std=$standard" -Wall -Wextra -Werror -pedantic $(pkg-config --cflags pieces_os_client) \
        -c "$work/header.c" -o "$work/header-$standard.o"
done
printf '#include <pieces_os_client.hpp>\n#include <pieces_os_client.hpp>\nint main() { return pieces::version().empty(); }\n' >"$work/header.cpp"
# shellcheck disable=SC2046
g++ -std=c++17 -Wall -Wextra -Werror -pedantic $(pkg-config --cflags pieces_os_client) "$work/header.cpp" \
    $(pkg-config --libs pieces_os_client) -Wl,-rpath,"$lib" -o "$work/header-cpp"
[ "$("$work/header-cpp" && echo ok)" = ok ]

step "a stand-in PiecesOS on 127.0.0.1"
server=$(cargo build --quiet --features server,cli,capi --bin pieces-os-server --message-format=json |
    grep -o '"executable":"[^"]*pieces-os-server"' | sed 's/^"executable":"//; s/"$//')
[ -x "$server" ] || fail "cargo built no pieces-os-server"
start_stand_in --seed 5
url=$stand_in_url
echo "$url"

step "examples/c with pkg-config, linked with the shared library"
make -C examples/c OUT_DIR="$work" CC=gcc
readelf -d "$work/messages" | grep -F "Shared library: [$soname]" || fail "the program does not need $soname"
readelf -d "$work/messages" | grep -F "$lib" || fail "the program does not record $lib"
"$work/messages" "$url" | tee "$work/messages.out"
grep -q "messages in the snapshot" "$work/messages.out"

step "examples/c with pkg-config, linked with the static library"
rm -f "$work/messages"
make -C examples/c OUT_DIR="$work" CC=gcc LINK=static
if readelf -d "$work/messages" | grep -F "libpieces_os_client"; then
    fail "the statically linked program still needs the shared library"
fi
"$work/messages" "$url" | tee "$work/messages.out"
grep -q "messages in the snapshot" "$work/messages.out"

# The README's snippets marked <!-- ci: DIR/FILE --> go to $work/readme/DIR/FILE; each DIR/run.sh then
# runs in its directory, with the stand-in's URL in place of the default one.
extract_readme_snippets() {
    local out=$1 target='' inside=0 line
    while IFS= read -r line; do
        if [ "$inside" = 1 ]; then
            if [[ $line == '```'* ]]; then
                inside=0
                target=
            else
                printf '%s\n' "${line//http:\/\/127.0.0.1:39300/$url}" >>"$out/$target"
            fi
        elif [[ $line =~ ^'<!-- ci: '([^ ]+)' -->'$ ]]; then
            target=${BASH_REMATCH[1]}
            mkdir -p "$(dirname "$out/$target")"
            : >"$out/$target"
        elif [ -n "$target" ] && [[ $line == '```'* ]]; then
            inside=1
        fi
    done <README.md
}
extract_readme_snippets "$work/readme"
for snippet in c/app.c c/run.sh cmake/CMakeLists.txt cmake/app.cpp cmake/run.sh cmake/without-cmake.sh \
    fragments/discovery.c; do
    [ -s "$work/readme/$snippet" ] || fail "README.md has no snippet marked <!-- ci: $snippet -->"
done

step "the README's C fragments compile, each as the body of a function given a client"
for fragment in "$work"/readme/fragments/*.c; do
    wrapper="${fragment%.c}.wrapper.c"
    printf '#include <pieces_os_client.h>\nvoid fragment(pieces_client *client);\nvoid fragment(pieces_client *client) {\n#include "%s"\n}\n' \
        "$(basename "$fragment")" >"$wrapper"
    # shellcheck disable=SC2046 # pkg-config prints several flags
    gcc -std=c11 -Wall -Wextra -Werror -pedantic $(pkg-config --cflags pieces_os_client) -c "$wrapper" \
        -o "${fragment%.c}.o"
done

step "the README's C snippet, linked with pkg-config, dynamically and statically"
(cd "$work/readme/c" && bash -euo pipefail run.sh) | tee "$work/readme-c.out"
[ "$(grep -c '"iterable"' "$work/readme-c.out")" = 2 ] || fail "the README's C programs did not print two snapshots"

step "the README's C++ program (snapshot, pull subscription, pull mirror), with its CMake project (find_package) and with pkg-config"
for script in run.sh without-cmake.sh; do
    (cd "$work/readme/cmake" && bash -euo pipefail "$script") | tee "$work/readme-cmake.out"
    grep -q '"iterable"' "$work/readme-cmake.out" || fail "the README's C++ program ($script) printed no snapshot"
    grep -q '"type":"closed"' "$work/readme-cmake.out" || fail "the README's C++ program ($script) did not end its loop"
    grep -q '^\[{' "$work/readme-cmake.out" || fail "the README's C++ program ($script) printed no mirror"
done

step "the C++ wrapper's tests through find_package, shared and static, under ASan and UBSan"
sanitizers="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all -g"
cmake -S tests/install/cmake -B "$work/cmake-raii" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=g++ \
    -DCMAKE_CXX_FLAGS="$sanitizers" -DCMAKE_EXE_LINKER_FLAGS="$sanitizers"
cmake --build "$work/cmake-raii" -j 2
# A second stand-in that fails every request, as the program's third argument.
start_stand_in --fail-every 1
failing_url=$stand_in_url
refused_url=http://127.0.0.1:9 # the discard port: nothing listens on loopback
for linkage in shared static; do
    ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1:fast_unwind_on_malloc=0 \
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "$work/cmake-raii/raii_$linkage" "$url" "$refused_url" "$failing_url" 2>&1 | tee "$work/raii-$linkage.out"
    grep -q 'raii.cpp: [0-9]* passed, 0 failed' "$work/raii-$linkage.out" || fail "raii_$linkage did not pass"
    if grep -q Sanitizer "$work/raii-$linkage.out"; then fail "a sanitizer reported on raii_$linkage"; fi
done

step "the CMake version file follows the ABI policy"
next_abi=$([ "$major" = 0 ] && echo "0.$((minor + 1))" || echo "$((major + 1))")
for case in "$version FOUND" "$abi FOUND" "$major.$minor.0 FOUND" "$version...$((major + 1)).0 FOUND" \
    "$next_abi NOT_FOUND" "$((major + 1)).0 NOT_FOUND" "$major.$minor.$((${version##*.} + 1)) NOT_FOUND"; do
    read -r requested expected <<<"$case"
    cmake -S tests/install/cmake_version -B "$work/cmake-version" -DREQUESTED="$requested" -DEXPECTED="$expected" |
        grep -F "find_package(PiecesOsClient"
    rm -rf "$work/cmake-version"
done

step "a moved prefix: the CMake package finds itself"
cp -a "$prefix" "$work/moved"
rm -rf "$work/readme/cmake/build"
(cd "$work/readme/cmake" && CMAKE_PREFIX_PATH=$work/moved cmake -S . -B build >/dev/null && cmake --build build >/dev/null)
grep -F "$work/moved/lib" "$work/readme/cmake/build/CMakeCache.txt" >/dev/null || fail "CMake did not use the moved prefix"
# Into a file: grep -q would stop reading at the first match, and the program die of SIGPIPE.
"$work/readme/cmake/build/app" "$url" >"$work/moved.out"
grep -q '"iterable"' "$work/moved.out" || fail "the program built against the moved prefix printed no snapshot"
rm -rf "$work/moved"

step "--destdir stages the files, which name the final prefix"
scripts/install.sh --prefix /opt/pieces-os-client --destdir "$work/stage" 2>/dev/null
grep -Fx "prefix=/opt/pieces-os-client" "$work/stage/opt/pieces-os-client/lib/pkgconfig/pieces_os_client.pc"
[ "$(find "$work/stage" -type f | wc -l)" = 8 ] || fail "the staged tree does not have the 8 files"

step "two Rust static libraries in one C program (tests/install/two_rust_staticlibs.c), in both orders"
other_dir=${CARGO_TARGET_DIR:-$root/target}/other-rust-staticlib
cargo build --quiet --release --manifest-path tests/install/other_rust_staticlib/Cargo.toml --target-dir "$other_dir"
other=$other_dir/release/libother_rust_staticlib.a
native_libs=$(pkg-config --libs pieces_os_client-static | sed 's|[^ ]*libpieces_os_client\.a||')
for order in "$lib/libpieces_os_client.a $other" "$other $lib/libpieces_os_client.a"; do
    # shellcheck disable=SC2086 # the libraries are words
    gcc -std=c89 -Wall -Wextra -Werror -pedantic -I"$prefix/include" tests/install/two_rust_staticlibs.c \
        $order $native_libs -o "$work/two_rust_staticlibs"
    "$work/two_rust_staticlibs" "$url"
done
# The control: the archive cargo made for scripts/install.sh, whose Rust symbols are all global, does
# clash; without that, the step above would prove nothing.
raw=${CARGO_TARGET_DIR:-$root/target}/release/libpieces_os_client.a
[ -f "$raw" ] || fail "no $raw from scripts/install.sh's build"
# shellcheck disable=SC2086
if gcc -I"$prefix/include" tests/install/two_rust_staticlibs.c "$raw" "$other" $native_libs \
    -o "$work/clash" 2>"$work/clash.err"; then
    fail "cargo's unprocessed archive ($raw) linked beside another Rust library: the check above proves nothing"
fi
grep -m 3 "multiple definition" "$work/clash.err"

printf '\ninstall checks: %d passed, 0 failed\n' "$checks"
