#!/usr/bin/env bash
# ci/banned.sh — source rules that the compiler does not enforce:
#   - banned functions: sprintf strcpy strcat strtok atoi gets sscanf
#   - module boundaries (DESIGN.md §2): curl only in http.c, lmdb only in
#     state.c, exit() only in main.c
# Ends with "banned: N passed, N failed".
cd "$(dirname "$0")/.." || exit 2
pass=0
fail=0
rule() {
	local desc=$1 hits=$2
	if [ -z "$hits" ]; then
		pass=$((pass + 1))
		echo "ok - $desc"
	else
		fail=$((fail + 1))
		echo "not ok - $desc"
		printf '%s\n' "$hits" | sed 's/^/    /'
	fi
}
files=$(ls src/*.c src/*.h tests/unit/*.c tests/unit/*.h tests/fuzz/*.c tests/fuzz/*.h 2>/dev/null)
# Strip comments and string literals crudely: a banned name in a comment is fine.
code() { sed -E 's://.*$::; s:/\*.*\*/::g; s:"([^"\\]|\\.)*":"":g' "$@"; }
for fn in sprintf strcpy strcat strtok atoi gets sscanf; do
	hits=$(for f in $files; do code "$f" | grep -n -E "(^|[^_a-zA-Z0-9])$fn[[:space:]]*\\(" | sed "s|^|$f:|"; done)
	rule "no $fn()" "$hits"
done
# the project's contract check greps whole words in src/, comments included
rule "no banned name as a word anywhere in src/" \
	"$(grep -n -w -E 'sprintf|strcpy|strcat|strtok|atoi|gets' src/*.c src/*.h)"
rule "curl is included only by src/http.c" \
	"$(grep -l -E '#[[:space:]]*include[[:space:]]*[<"]curl/' src/*.c src/*.h | grep -v -x 'src/http.c')"
rule "lmdb.h is included only by src/state.c" \
	"$(grep -l -E '#[[:space:]]*include[[:space:]]*[<"]lmdb\.h' src/*.c src/*.h | grep -v -x 'src/state.c')"
rule "exit() is called only in src/main.c" \
	"$(for f in src/*.c; do [ "$f" = src/main.c ] && continue; code "$f" | grep -n -E '(^|[^_a-zA-Z0-9])exit[[:space:]]*\(' | sed "s|^|$f:|"; done)"
echo "banned: $pass passed, $fail failed"
[ "$fail" = 0 ]
