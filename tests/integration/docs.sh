#!/usr/bin/env bash
# Integration: the man pages and the example configurations.
#
#  1. docs/atsrecon.1 and docs/atsrecon.conf.5 are exactly what tools/genman
#     writes from the option and command tables (else the diff is printed:
#     `./build.sh man` regenerates them);
#  2. `mandoc -T lint` says nothing about either, style messages included;
#  3. the pages, rendered with `mandoc -T utf8`, agree with the binary itself:
#     every command of `atsrecon --help` with exactly the flags of
#     `atsrecon CMD --help`, every flag an entry of its own, every exit status,
#     every key `atsrecon check` prints (and no other), every environment
#     variable (secrets' _FILE twins found by asking the binary), every name
#     the sources getenv(), the canonical fields of src/mapcfg.c and the
#     export-file fields of src/ats_file.c;
#  4. every configs/*.jsonc passes `atsrecon check -c FILE` as it is written.
#     Their secrets are *_file paths (/run/secrets/atsrecon/...) that do not
#     exist here, and check reads secret files (config_finish), so each secret
#     file it cannot read is relocated: ATSRECON_<SECTION>_<KEY>_FILE (which
#     beats the file, as an operator would use it) points at a temporary file,
#     and check runs again. Nothing else is overridden, and the check output
#     must show the secret as <redacted> and read from that file;
#  5. each comparison above is shown to fail on a page made wrong.
#
# The generator is linked from the dev build's objects (build/dev, else
# build/release); mandoc comes from Debian (ci/doc-tools.sh installs it).
. "$(dirname "$0")/../lib.sh"

# only this test's own ATSRECON_* settings count
for v in $(compgen -e | grep '^ATSRECON_' | grep -v '^ATSRECON_TEST_'); do unset "$v"; done

check "mandoc is installed (ci/doc-tools.sh)" bash "$TOP/ci/doc-tools.sh"

# --- 1. the committed pages are what the generator writes
if [ -d "$TOP/build/deps/glibc" ]; then
	mk=(MODE=dev CC=gcc OUT="$TOP/build/dev" DEPS="$TOP/build/deps/glibc")
	GENMAN="$TOP/build/dev/tools/genman"
else
	mk=(MODE=release CC=musl-gcc OUT="$TOP/build/release" DEPS="$TOP/build/deps/musl")
	GENMAN="$TOP/build/release/tools/genman"
fi
expect_rc 0 "tools/genman builds" make -s -C "$TOP" "${mk[@]}" CA_BUNDLE="$TOP/build/ca-bundle.pem" "$GENMAN"
G="$T_TMP/gen"
mkdir -p "$G"
expect_rc 0 "genman 1" "$GENMAN" 1
cp "$T_TMP/out" "$G/atsrecon.1"
expect_rc 0 "genman 5" "$GENMAN" 5
cp "$T_TMP/out" "$G/atsrecon.conf.5"
expect_rc 2 "genman with no page number is a usage error" "$GENMAN"
expect_rc 0 "genman is deterministic (a second run writes the same page)" \
	bash -c '"$1" 1 | cmp -s - "$2"' _ "$GENMAN" "$G/atsrecon.1"

# same_page COMMITTED GENERATED: identical, else the diff is shown.
same_page() {
	if diff -u "$1" "$2" >"$T_TMP/page.diff"; then
		return 0
	fi
	echo "    $1 differs from what tools/genman writes (./build.sh man regenerates it):"
	head -40 "$T_TMP/page.diff" | sed 's/^/    /'
	return 1
}
for p in atsrecon.1 atsrecon.conf.5; do
	check "docs/$p is what genman writes from the tables" same_page "$TOP/docs/$p" "$G/$p"
done
# the comparison can fail: one line added to a copy of the page
cp "$G/atsrecon.1" "$T_TMP/drifted.1"
echo "An edit by hand." >>"$T_TMP/drifted.1"
check "a page edited by hand is caught as drift" bash -c '! diff -q "$1" "$2" >/dev/null' _ \
	"$T_TMP/drifted.1" "$G/atsrecon.1"
sed 's/^Show this help\.$/Shows this help./' "$G/atsrecon.1" >"$T_TMP/drifted.1"
check "a changed help line is caught as drift" bash -c '! diff -q "$1" "$2" >/dev/null' _ \
	"$T_TMP/drifted.1" "$G/atsrecon.1"

# --- 2. mandoc -T lint: silent, every level. It looks a cross-reference up
# in the manpath and then in the current directory: both pages are in $G.
lint() { (cd "$(dirname "$1")" && mandoc -T lint "$(basename "$1")" 2>&1); }
for p in atsrecon.1 atsrecon.conf.5; do
	msgs=$(lint "$G/$p")
	if [ -z "$msgs" ]; then ok "mandoc -T lint is silent on $p"; else
		not_ok "mandoc -T lint on $p"
		printf '%s\n' "$msgs" | head -20 | sed 's/^/    /'
	fi
done
# the lint can fail: an unclosed list, a long line, a sentence mid-line
{
	sed '/^\.El$/d' "$G/atsrecon.conf.5"
} >"$G/broken.5"
check "lint reports an unclosed list" bash -c '[ -n "$(cd "$1" && mandoc -T lint broken.5 2>&1)" ]' _ "$G"
printf '.Dd December 1, 2026\n.Dt X 1\n.Os\n.Sh NAME\n.Nm x\n.Nd y\n.Sh DESCRIPTION\nOne. Two.\n' >"$G/broken.1"
check "lint reports a new sentence mid-line" bash -c \
	'(cd "$1" && mandoc -T lint broken.1 2>&1) | grep -q "new sentence, new line"' _ "$G"
rm -f "$G/broken.1" "$G/broken.5"

# --- 3. the rendered pages against the binary
render() { mandoc -T utf8 -O width=78 "$1" | LC_ALL=C.UTF-8 sed 's/.\x08//g'; }
render "$G/atsrecon.1" >"$T_TMP/man1.txt"
render "$G/atsrecon.conf.5" >"$T_TMP/man5.txt"
for s in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS ENVIRONMENT FILES "EXIT STATUS" EXAMPLES "SEE ALSO"; do
	check "atsrecon(1) has the section $s" grep -q -x "$s" "$T_TMP/man1.txt"
done
for s in NAME DESCRIPTION SECTIONS "STRUCTURED SECTIONS" FILES EXAMPLES "SEE ALSO"; do
	check "atsrecon.conf(5) has the section $s" grep -q -x "$s" "$T_TMP/man5.txt"
done
# section TEXTFILE NAME: the lines of one section of a rendered page
section() { awk -v s="$2" '$0 == s { on = 1; next } /^[A-Z][A-Z ]*$/ { on = 0 } on' "$1"; }
section "$T_TMP/man1.txt" OPTIONS >"$T_TMP/options.txt"

expect_rc 0 "atsrecon --help" "$ATSRECON" --help
cp "$T_TMP/out" "$T_TMP/help.txt"
cmds=$(awk '/^commands:/ { on = 1; next } /^$/ { on = 0 } on { print $1 }' "$T_TMP/help.txt")
check "--help lists the commands" test "$(echo "$cmds" | wc -w)" -ge 10

# has_entry FLAG: the OPTIONS section has an entry for it ("-c, --config FILE")
has_entry() {
	grep -q -E -e "^     (-[a-zA-Z], )?$1( |\$)" -e "^     -[a-zA-Z], $1( |\$)" "$T_TMP/options.txt"
}
# page_flags CMD: the flags the COMMANDS entry of CMD lists (from the page source)
page_flags() {
	awk -v c="$1" '
		$0 ~ "^\\.It Cm " c "( |$)" { on = 1; next }
		on && /^\.It / { exit }
		on && /^\.Fl / { for (i = 2; i <= NF; i++) if ($(i - 1) == "Fl" || $(i - 1) == ".Fl") print "-" $i }
	' "$G/atsrecon.1" | sort
}
nflags=0
missing=""
mismatch=""
for c in $cmds; do
	run "$ATSRECON" "$c" --help
	[ "$RC" = 0 ] || { not_ok "$c --help exits $RC"; continue; }
	grep -o -E '^ +(-[a-zA-Z], )?--[a-z][a-z-]*' "$T_TMP/out" | tr -d ' ' | tr ',' '\n' |
		grep -v -x -e '-h' -e '--help' | grep . | sort >"$T_TMP/flags.$c"
	for f in $(cat "$T_TMP/flags.$c"); do
		nflags=$((nflags + 1))
		case "$f" in --*) has_entry "$f" || missing="$missing $f" ;; esac
	done
	page_flags "$c" >"$T_TMP/pflags.$c"
	if ! cmp -s "$T_TMP/flags.$c" "$T_TMP/pflags.$c"; then
		mismatch="$mismatch $c"
		diff "$T_TMP/flags.$c" "$T_TMP/pflags.$c" | sed "s/^/    $c: /" | head -10
	fi
	check "the page describes command $c" grep -q -E "^     $c( |\$)" <(section "$T_TMP/man1.txt" COMMANDS)
	check "the synopsis has command $c" grep -q -E "^     atsrecon $c( |\$)" <(section "$T_TMP/man1.txt" SYNOPSIS)
done
check "every flag of every 'CMD --help' ($nflags) has an OPTIONS entry${missing:+ (missing:$missing)}" \
	test -z "$missing"
check "each command's page entry lists exactly its --help flags${mismatch:+ (differ:$mismatch)}" \
	test -z "$mismatch"
check "the flag check can fail (no entry for --no-such-flag)" bash -c '! grep -q -E "^     --no-such-flag( |\$)" "$1"' _ "$T_TMP/options.txt"
check "the short flag -c is an entry" has_entry --config
check "an entry names the short flag too" grep -q -E '^     -c, --config FILE$' "$T_TMP/options.txt"

# exit statuses: those --help lists, each an entry of EXIT STATUS
codes=$(tr '\n' ' ' <"$T_TMP/help.txt" | sed -n 's/.*Exit status: //p' | grep -o -E '(^| )[0-9]+ [a-z]' | grep -o -E '[0-9]+')
section "$T_TMP/man1.txt" "EXIT STATUS" >"$T_TMP/exit.txt"
missing=""
for n in $codes; do grep -q -E "^     $n( |\$)" "$T_TMP/exit.txt" || missing="$missing $n"; done
check "every exit status of --help ($(echo $codes | wc -w)) is described${missing:+ (missing:$missing)}" test -z "$missing"
check "--help lists 12 exit statuses" test "$(echo $codes | wc -w)" = 12
check "the page describes no other exit status" test "$(grep -c -E '^     [0-9]+ ' "$T_TMP/exit.txt")" = "$(echo $codes | wc -w)"

# config keys: those `check` prints, each with an entry under its section in
# atsrecon.conf(5) (read from the page source), and no entry for anything else
expect_rc 0 "check with the defaults" "$ATSRECON" check
sed -n 's/^\([a-z_]*\)\.\([a-z_]*\) = .*/\1.\2/p' "$T_TMP/out" | sort >"$T_TMP/keys"
sed -n 's/^\([a-z_]*\) = .*/\1/p' "$T_TMP/out" | sort >"$T_TMP/structured"
awk '/^\.Sh / { on = ($2 == "SECTIONS" && NF == 2) } on && /^\.Ss / { gsub(/"/, "", $2); s = $2 }
	on && /^\.It Cm / { print s "." $3 }' "$G/atsrecon.conf.5" | sort >"$T_TMP/pkeys"
check "check prints the keys ($(wc -l <"$T_TMP/keys"))" test "$(wc -l <"$T_TMP/keys")" -ge 40
check "atsrecon.conf(5) has an entry for every key and no other" same_page "$T_TMP/keys" "$T_TMP/pkeys"
for s in $(cat "$T_TMP/structured"); do
	check "atsrecon.conf(5) describes the structured section $s" grep -q -x "   $s" "$T_TMP/man5.txt"
done
check "atsrecon.conf(5) describes ats.columns" grep -q -x "   ats.columns" "$T_TMP/man5.txt"
echo "ats.no_such_key" >>"$T_TMP/pkeys"
check "the key comparison can fail (a key the binary does not have)" \
	bash -c '! cmp -s "$1" "$2"' _ "$T_TMP/keys" "$T_TMP/pkeys"

# environment: every key's variable; the secrets (the keys whose _FILE twin
# the binary accepts) also their _FILE variable, and no other key a _FILE one
printf 'dummy-secret-0001\n' >"$T_TMP/dummy"
chmod 600 "$T_TMP/dummy"
fenv=()
for k in $(cat "$T_TMP/keys"); do
	v=ATSRECON_$(echo "$k" | tr 'a-z.' 'A-Z_')
	case "$k" in ats.columns) continue ;; esac
	fenv+=("${v}_FILE=$T_TMP/dummy")
done
expect_rc 0 "check with every _FILE variable set" env "${fenv[@]}" "$ATSRECON" check
secrets=$(grep -F ", from file $T_TMP/dummy" "$T_TMP/out" | sed 's/ = .*//' | tr '\n' ' ')
check "the binary has 5 secrets: $(echo $secrets)" test "$(echo $secrets | wc -w)" = 5
check "every secret is shown redacted" test "$(grep -F ", from file $T_TMP/dummy" "$T_TMP/out" | grep -c '<redacted>')" = 5
check "the binary ignores the _FILE twin of a non-secret" err_has "ignoring unknown environment variable ATSRECON_KEAP_MAX_RPS_FILE"
section "$T_TMP/man1.txt" ENVIRONMENT >"$T_TMP/env.txt"
missing=""
wrong=""
for k in $(cat "$T_TMP/keys"); do
	[ "$k" = ats.columns ] && continue	# structured: set in the file only
	v=ATSRECON_$(echo "$k" | tr 'a-z.' 'A-Z_')
	grep -q -E "(^|[ ,])$v(,|\$)" "$T_TMP/env.txt" || missing="$missing $v"
	if echo " $secrets " | grep -q " $k "; then
		grep -q -E "(^|[ ,])${v}_FILE(,|\$)" "$T_TMP/env.txt" || missing="$missing ${v}_FILE"
		grep -q -F "${k#*.}_file" <(section "$T_TMP/man5.txt" SECTIONS) || missing="$missing ${k}_file"
	elif grep -q -E "(^|[ ,])${v}_FILE(,|\$)" "$T_TMP/env.txt"; then
		wrong="$wrong ${v}_FILE"
	fi
done
check "ENVIRONMENT names every key's variable and each secret's _FILE twin${missing:+ (missing:$missing)}" test -z "$missing"
check "ENVIRONMENT names no _FILE variable for a non-secret${wrong:+ ($wrong)}" test -z "$wrong"
missing=""
for v in $(grep -h -o -E 'getenv\("[A-Za-z_]+"\)' "$TOP"/src/*.c | sed 's/getenv("\(.*\)")/\1/' | sort -u); do
	case "$v" in ATSRECON_TEST_*) continue ;; esac	# test hooks
	grep -q -E "(^|[ ,])$v(,|\$)" "$T_TMP/env.txt" || missing="$missing $v"
done
check "ENVIRONMENT names every variable the sources getenv()${missing:+ (missing:$missing)}" test -z "$missing"

# the grammar paragraphs against the modules' own lists
# strings_of FILE ARRAY: the quoted strings of a C array initialiser
strings_of() {
	awk -v a="$2" 'index($0, a) && /=/ { on = 1 } on { print } on && /};/ { exit }' "$1" |
		grep -o -E '"[^"]+"' | tr -d '"'
}
list_in_para() {	# FILE PARA-START WORDS...: every word occurs in the paragraph
	local f=$1 start=$2 w miss=""
	shift 2
	awk -v s="$start" '$0 == s || index($0, s " ") == 1 { on = 1; print; next } on && /^\.(It|Ss|Sh) / { exit } on' "$G/$f" >"$T_TMP/para"
	for w in "$@"; do grep -q -F -e "$w" "$T_TMP/para" || miss="$miss $w"; done
	[ -z "$miss" ] || echo "    not in \"$start\" of $f:$miss"
	[ -z "$miss" ]
}
canon=$(strings_of "$TOP/src/mapcfg.c" "canonical_fields[]")
targets=$(strings_of "$TOP/src/mapcfg.c" "text_targets[]")
check "src/mapcfg.c has canonical fields and text targets" test -n "$canon" -a -n "$targets"
check "fields.from names every canonical field of src/mapcfg.c" list_in_para atsrecon.conf.5 ".It Cm from" $canon
check "fields.to names every text target of src/mapcfg.c" list_in_para atsrecon.conf.5 ".It Cm to" $targets
check "the list check can fail (a field no page names)" bash -c '! grep -q -F no_such_field "$1"' _ "$G/atsrecon.conf.5"
ffields=""
if [ -f "$TOP/src/ats_file.c" ]; then
	ffields=$(strings_of "$TOP/src/ats_file.c" "ffield_name[")
	check "src/ats_file.c has its field names (ffield_name)" test -n "$ffields"
	check "ats.columns names every field of src/ats_file.c" list_in_para atsrecon.conf.5 ".Ss ats.columns" $ffields date_order
fi

# --- 4. every example configuration passes check, as written
printf '%s\n' "$TOP"/configs/*.jsonc >"$T_TMP/configs"
check "configs/ holds the examples" test "$(wc -l <"$T_TMP/configs")" -ge 8
for want in atsrecon.example greenhouse lever ashby file cron kubernetes lambda; do
	check "configs/$want.jsonc exists" test -f "$TOP/configs/$want.jsonc"
done
# check_config FILE [ENV...]: check -c FILE, relocating each secret file that
# cannot be read; sets RELOCATED (the original paths) and leaves out/err.
check_config() {
	local f=$1 i sk path var
	shift
	local extra=("$@")
	RELOCATED=""
	mkdir -p "$T_TMP/secrets"
	for i in 1 2 3 4 5; do
		run env "${extra[@]}" "$ATSRECON" check -c "$f"
		[ "$RC" = 3 ] || return 0
		# check names every unreadable file at once; one is relocated per round
		sk=$(sed -n 's/.*: \([a-z_]*\.[a-z_]*\): cannot read secret file \(.*\): No such file or directory$/\1/p' "$T_TMP/err" | head -n 1)
		path=$(sed -n 's/.*: [a-z_]*\.[a-z_]*: cannot read secret file \(.*\): No such file or directory$/\1/p' "$T_TMP/err" | head -n 1)
		[ -n "$sk" ] || return 0
		var=ATSRECON_$(echo "$sk" | tr 'a-z.' 'A-Z_')_FILE
		printf 'example-%s-SECRET-%04d\n' "$sk" "$i" >"$T_TMP/secrets/$sk"
		chmod 600 "$T_TMP/secrets/$sk"
		extra+=("$var=$T_TMP/secrets/$sk")
		RELOCATED="$RELOCATED $sk=$path"
	done
}
for f in $(cat "$T_TMP/configs"); do
	b=$(basename "$f")
	check_config "$f"
	if [ "$RC" = 0 ]; then ok "$b passes check (secret files relocated:${RELOCATED:- none})"; else
		not_ok "$b: check exits $RC"
		sed 's/^/    stderr: /' "$T_TMP/err" | head -5
		continue
	fi
	cp "$T_TMP/out" "$T_TMP/check.$b"
	for r in $RELOCATED; do
		check "$b: ${r%%=*} is redacted and read from its relocated file" \
			grep -q -E "^${r%%=*} = <redacted> +# .*, from file $T_TMP/secrets/${r%%=*}\$" "$T_TMP/out"
	done
	check "$b: no secret value in the output" bash -c '! grep -q -e "-SECRET-" "$1" "$2"' _ "$T_TMP/out" "$T_TMP/err"
	check "$b: the config file is the origin of what it sets" grep -q -F "# $f:" "$T_TMP/out"
done
kind_is() { grep -q -x -E "ats\.kind = \"$2\" +# $TOP/configs/$1:[0-9]+" "$T_TMP/check.$1"; }
check "greenhouse.jsonc is for Greenhouse" kind_is greenhouse.jsonc greenhouse
check "lever.jsonc is for Lever" kind_is lever.jsonc lever
check "ashby.jsonc is for Ashby" kind_is ashby.jsonc ashby
check "file.jsonc is for an export file" kind_is file.jsonc file
check "lever.jsonc's pages fit Lever's limit (100)" grep -q -E '^ats\.page_size = 100 ' "$T_TMP/check.lever.jsonc"
check "ashby.jsonc's pages fit Ashby's limit (100)" grep -q -E '^ats\.page_size = 100 ' "$T_TMP/check.ashby.jsonc"
# kubernetes: every secret is a file under /run/secrets/atsrecon/
check_config "$TOP/configs/kubernetes.jsonc"
bad=""
for r in $RELOCATED; do case "${r#*=}" in /run/secrets/atsrecon/*) ;; *) bad="$bad $r" ;; esac; done
check "kubernetes.jsonc reads its secrets from files under /run/secrets/atsrecon/ (${RELOCATED# })" \
	test -n "$RELOCATED" -a -z "$bad"
# lambda: no secret in the file; keys from the environment; state in S3
check_config "$TOP/configs/lambda.jsonc"
check "lambda.jsonc needs no secret file" test -z "$RELOCATED" -a "$RC" = 0
check "lambda.jsonc keeps the state in S3" grep -q -E '^state\.url = "s3://[a-z0-9.-]+/' "$T_TMP/out"
expect_rc 0 "lambda.jsonc with the keys in the environment" env ATSRECON_ATS_API_KEY=lambda-SECRET-ats \
	ATSRECON_KEAP_API_KEY=lambda-SECRET-keap "$ATSRECON" check -c "$TOP/configs/lambda.jsonc"
check "lambda.jsonc: the ATS key comes from ATSRECON_ATS_API_KEY" \
	grep -q -E '^ats\.api_key = <redacted> +# ATSRECON_ATS_API_KEY$' "$T_TMP/out"
check "lambda.jsonc: the Keap key comes from ATSRECON_KEAP_API_KEY" \
	grep -q -E '^keap\.api_key = <redacted> +# ATSRECON_KEAP_API_KEY$' "$T_TMP/out"
check "lambda.jsonc: no key in the output" bash -c '! grep -q -e "-SECRET-" "$1" "$2"' _ "$T_TMP/out" "$T_TMP/err"
# file: ats.columns uses only the export-file driver's field names
if [ -n "$ffields" ]; then
	cols=$(sed -n 's/^ats\.columns = \({.*}\) *# .*/\1/p' "$T_TMP/check.file.jsonc" |
		python3 -c 'import json, sys; print("\n".join(json.loads(sys.stdin.read())))')
	bad=""
	for c in $cols; do echo "$ffields date_order" | tr ' ' '\n' | grep -q -x -F "$c" || bad="$bad $c"; done
	check "file.jsonc maps $(echo $cols | wc -w) columns, each a field of src/ats_file.c${bad:+ (unknown:$bad)}" \
		test -n "$cols" -a -z "$bad"
fi
# the reference names every key (set, or as a comment)
missing=""
for k in $(cat "$T_TMP/keys") $(cat "$T_TMP/structured"); do
	grep -q -E "\"${k#*.}(_file)?\"" "$TOP/configs/atsrecon.example.jsonc" || missing="$missing $k"
done
check "atsrecon.example.jsonc names every key${missing:+ (missing:$missing)}" test -z "$missing"
# the relocation hides no error: a misspelt key still fails, secrets or not
sed 's/"concurrency"/"concurency"/' "$TOP/configs/greenhouse.jsonc" >"$T_TMP/typo.jsonc"
check_config "$T_TMP/typo.jsonc"
check "a misspelt key in an example still fails check (exit $RC)" test "$RC" = 3
check "... and is named" err_has 'unknown key "keap.concurency"'

t_done
