#!/usr/bin/env bash
# bench/file_pull.sh [N...] — stream an N-row CSV export through the file
# source (ats.kind "file") with the static release build; default 100,000 and
# 1,000,000 rows to show memory stays flat (apart from the duplicate-id set).
# The generated files live in build/bench-file/ (not committed) and are kept
# for reruns.
. "$(dirname "$0")/lib.sh"
bench_build file_pull
D=build/bench-file
mkdir -p "$D"
bench_machine
for n in ${@:-100000 1000000}; do
	f="$D/export-$n.csv"
	if [ ! -s "$f" ]; then
		# 11 columns like a BambooHR/JazzHR export: quoted names with commas,
		# national phone numbers, mixed-case emails, a quoted notes cell.
		awk -v n="$n" 'BEGIN {
			split("Review,Phone Screen,Take Home,Face to Face,Offer", st, ",")
			split("Indeed,Meetups,LinkedIn (Prospecting),Referral,Careers Site", so, ",")
			split("Active,Rejected,Hired,Active,Withdrawn", ss, ",")
			printf "\357\273\277Candidate ID,First Name,Last Name,Email,Phone,Stage,Status,Job,Source,Applied,Notes\r\n"
			for (i = 1; i <= n; i++)
				printf "%d,Person%d,\"Smith, %d\",Person.%d@Example.com,(415) 555-%04d,%s,%s,Job %d,%s,2026-%02d-%02dT10:00:00Z,\"Notes for %d, with \"\"quotes\"\"\"\r\n", \
				    100000 + i, i, i, i, i % 10000, st[i % 5 + 1], ss[i % 5 + 1], i % 40, so[i % 5 + 1], i % 12 + 1, i % 28 + 1, i
		}' >"$f"
	fi
	cat >"$D/config-$n.jsonc" <<CFG
{
  "ats": { "kind": "file", "file": "$f",
           "columns": { "id": "Candidate ID", "first_name": "First Name", "last_name": "Last Name",
                        "email": "Email", "phone": "Phone", "stage": "Stage", "status": "Status",
                        "job": "Job", "source": "Source", "applied_at": "Applied",
                        "custom:notes": "Notes" } },
  "phone": { "default_region": "US" }
}
CFG
	echo "rows: $n"
	./build/release/bench/file_pull "$D/config-$n.jsonc"
done
