#!/usr/bin/env bash
# Integration: the files under deploy/, checked with real tools and run for
# real where a machine without systemd, Kubernetes or AWS allows it.
#
#   systemd   systemd-analyze verify (any message fails it: verify exits 0 on
#             unknown keys), security --offline (the score is printed), calendar,
#             timespan; the unit's ExecStart and Environment= run against the
#             fakes; the syscalls, socket families and executable mappings of that
#             run (strace) must be allowed by SystemCallFilter=,
#             RestrictAddressFamilies= and MemoryDenyWriteExecute=.
#   cron      Debian's crontab has no syntax-check mode: the file is parsed here
#             (fields, ranges, no "%"), then each line runs with /bin/sh as cron
#             would: its output (= cron's mail) must appear exactly when a person
#             is needed, and a held lock (exit 75) must stay silent.
#   k8s       kustomize (or `kubectl kustomize`) renders both kustomizations and
#             rejects unknown kustomization fields; every object is validated with
#             kubernetes-models (Kubernetes' OpenAPI schemas) and type-checked with
#             TypeScript against the same models (unknown fields fail, as with the
#             API server's strict field validation); the requirements (deadlines,
#             security context, image, volumes) are checked on the rendered objects;
#             the ConfigMap configs pass `atsrecon check` with the Secret's keys as
#             files; the container args run against the fakes (one tenant, and the
#             Indexed Job's tenant 0 picked by JOB_COMPLETION_INDEX).
#   lambda    cfn-lint (when installed: neither Debian nor npm ships it), and a
#             structural check of every resource against AWS's resource
#             specification (@aws-cdk/aws-service-spec, SAM types included);
#             the template's requirements and its least-privilege policy.
# Broken copies prove each validator fails: a misspelt field, a wrong type.
# Tools: ci/deploy-tools.sh (Debian and npm), run first; quiet when in place.
. "$(dirname "$0")/../lib.sh"

D="$TOP/deploy"
VERSION=$(cat "$TOP/VERSION")
note() { echo "# $*"; }

# PASS/FAIL lines from a helper become checks; a helper that dies before its
# closing END line is a failure of its own.
checks_from() {
	local line done=0
	while IFS= read -r line; do
		case "$line" in
		"PASS "*) ok "${line#PASS }" ;;
		"FAIL "*) not_ok "${line#FAIL }" ;;
		END) done=1 ;;
		*) echo "    $line" ;;
		esac
	done
	[ "$done" = 1 ] || not_ok "$1: the helper stopped early"
}

if ! TOOLS=$("$TOP/ci/deploy-tools.sh" --print-dir); then
	not_ok "ci/deploy-tools.sh installs the validation tools"
	t_done
	exit 1
fi
ok "ci/deploy-tools.sh: tools in place ($TOOLS)"
ln -s "$TOOLS/node_modules" "$T_TMP/node_modules"

# ---------------------------------------------------------------- helpers (node)
cat >"$T_TMP/k8s.cjs" <<'EOF'
// Kubernetes manifests: schema validation, strict field check, requirements.
const fs = require("fs"), path = require("path"), YAML = require("yaml");
const load = (f) => YAML.parseAllDocuments(fs.readFileSync(f, "utf8")).map((d) => {
	if (d.errors.length) throw new Error(f + ": " + d.errors[0].message);
	return d.toJS();
}).filter((o) => o != null);
const modOf = (o) => {
	const [g, v] = String(o.apiVersion).includes("/") ? o.apiVersion.split("/") : ["", o.apiVersion];
	return `kubernetes-models/${g ? g + "/" : ""}${v}/${o.kind}`;
};
const dur = (s) => { const m = /^(\d+)(s|m|h)$/.exec(s); return m ? +m[1] * { s: 1, m: 60, h: 3600 }[m[2]] : NaN; };
const say = (c, d) => console.log((c ? "PASS " : "FAIL ") + d);
const cmd = process.argv[2], args = process.argv.slice(3);

if (cmd === "validate") {
	// 1. Kubernetes' OpenAPI schema per kind (types, enums, formats, required)
	let bad = 0, n = 0, ts = [], tsi = [];
	for (const f of args) for (const o of load(f)) {
		const what = `${path.basename(f)}: ${o.kind}/${o.metadata && o.metadata.name}`;
		let M;
		try { M = require(modOf(o))[o.kind]; } catch (e) { console.log(`${what}: unknown apiVersion/kind ${o.apiVersion} ${o.kind}`); bad++; continue; }
		try { new M(o).validate(); n++; } catch (e) { console.log(`${what}: schema: ${e.message}`); bad++; }
		const i = ts.length;
		tsi.push(`import type { I${o.kind} as T${i} } from "${modOf(o)}";`);
		ts.push(`// ${what}\nexport const d${i}: T${i} = ${JSON.stringify(o, null, 1)};`);
	}
	// 2. the same models' TypeScript types: an unknown field is an error
	const tsf = path.join(process.cwd(), "k8s-strict.ts");
	fs.writeFileSync(tsf, tsi.join("\n") + "\n" + ts.join("\n") + "\n");
	const t = require("typescript");
	const prog = t.createProgram([tsf], { noEmit: true, strict: true, skipLibCheck: true,
		moduleResolution: t.ModuleResolutionKind.Node10, module: t.ModuleKind.CommonJS, target: t.ScriptTarget.ES2020 });
	for (const d of t.getPreEmitDiagnostics(prog)) {
		const pos = d.file ? d.file.getLineAndCharacterOfPosition(d.start) : { line: -1 };
		const ctx = d.file ? d.file.text.split("\n").slice(0, pos.line).reverse().find((l) => l.startsWith("// ")) : "";
		console.log(`${ctx ? ctx.slice(3) + ": " : ""}strict: ${t.flattenDiagnosticMessageText(d.messageText, " ")}`);
		bad++;
	}
	console.log(`${n} objects valid, ${bad} errors`);
	process.exit(bad ? 1 : 0);
}

if (cmd === "configmap") {	// configmap FILE NAME OUTDIR: its data as files
	const [f, name, out] = args;
	const cm = load(f).find((o) => o.kind === "ConfigMap" && o.metadata.name === name);
	if (!cm) { console.error(`no ConfigMap ${name}`); process.exit(1); }
	fs.mkdirSync(out, { recursive: true });
	for (const [k, v] of Object.entries(cm.data || {})) fs.writeFileSync(path.join(out, k), v);
	console.log(Object.keys(cm.data || {}).sort().join(" "));
	process.exit(0);
}

if (cmd === "secret") {	// secret FILE OUTDIR: the example Secret's keys as files (values are placeholders)
	const [f, out] = args;
	const s = load(f).find((o) => o.kind === "Secret");
	fs.mkdirSync(out, { recursive: true });
	for (const k of Object.keys(s.stringData || {})) fs.writeFileSync(path.join(out, k), "placeholder\n", { mode: 0o600 });
	console.log(s.metadata.name);
	process.exit(0);
}

if (cmd === "args") {	// args FILE: the first container's args, one per line
	const o = load(args[0]).find((x) => x.kind === "CronJob" || x.kind === "Job");
	const spec = o.kind === "CronJob" ? o.spec.jobTemplate.spec : o.spec;
	console.log(spec.template.spec.containers[0].args.join("\n"));
	process.exit(0);
}

if (cmd === "require") {	// require RENDERED SECRET_EXAMPLE UID VERSION [multi]
	const [f, secf, uid, version, multi] = args;
	const objs = load(f), find = (k, n) => objs.find((o) => o.kind === k && (!n || o.metadata.name === n));
	const secret = load(secf).find((o) => o.kind === "Secret");
	const cj = find("CronJob");
	say(cj, "a CronJob is rendered");
	if (!cj) { console.log("END"); process.exit(0); }
	const js = cj.spec.jobTemplate.spec, pod = js.template.spec, c = pod.containers[0];
	say(cj.spec.concurrencyPolicy === "Forbid", "concurrencyPolicy: Forbid");
	say(cj.spec.startingDeadlineSeconds > 0, `startingDeadlineSeconds ${cj.spec.startingDeadlineSeconds}`);
	say(cj.spec.successfulJobsHistoryLimit >= 1 && cj.spec.failedJobsHistoryLimit >= 1,
	    `history limits ${cj.spec.successfulJobsHistoryLimit}/${cj.spec.failedJobsHistoryLimit}`);
	say(Number.isInteger(js.backoffLimit) || Number.isInteger(js.backoffLimitPerIndex), "backoffLimit (or per index) set");
	const i = c.args.indexOf("--max-runtime"), mr = i >= 0 ? dur(c.args[i + 1]) : NaN;
	const ad = js.activeDeadlineSeconds, margin = ad - mr;
	say(margin >= 120 && margin <= 900, `--max-runtime ${c.args[i + 1]} (${mr} s) is below activeDeadlineSeconds ${ad} by ${margin} s (2..15 min)`);
	say(!pod.restartPolicy || pod.restartPolicy === "Never", "restartPolicy Never (podFailurePolicy needs it)");
	say(pod.terminationGracePeriodSeconds >= 30, `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} leaves time to checkpoint`);
	const psc = pod.securityContext || {}, csc = c.securityContext || {};
	say(psc.runAsNonRoot === true, "runAsNonRoot");
	say(String(psc.runAsUser) === uid, `runAsUser ${psc.runAsUser} = the Dockerfile's USER ${uid}`);
	say(psc.seccompProfile && psc.seccompProfile.type === "RuntimeDefault", "seccompProfile RuntimeDefault");
	say(csc.readOnlyRootFilesystem === true, "readOnlyRootFilesystem");
	say(csc.allowPrivilegeEscalation === false, "allowPrivilegeEscalation false");
	say(JSON.stringify((csc.capabilities || {}).drop) === '["ALL"]', "capabilities drop ALL");
	say(pod.automountServiceAccountToken === false && find("ServiceAccount", pod.serviceAccountName),
	    `own ServiceAccount ${pod.serviceAccountName}, no token mounted`);
	const r = c.resources || {};
	const rq = r.requests || {}, rl = r.limits || {};
	say(rq.cpu === "100m" && rq.memory === "64Mi" && String(rl.cpu) === "1" && rl.memory === "256Mi" &&
	    Object.keys(rq).length === 2 && Object.keys(rl).length === 2,
	    "resources: requests 100m/64Mi, limits 1/256Mi");
	say(c.image === `ghcr.io/atsrecon/atsrecon:${version}`, `image ${c.image} (VERSION ${version})`);
	const mounts = Object.fromEntries(c.volumeMounts.map((m) => [m.name, m]));
	const vols = Object.fromEntries(pod.volumes.map((v) => [v.name, v]));
	const pvcv = Object.values(vols).find((v) => v.persistentVolumeClaim);
	const pvc = pvcv && find("PersistentVolumeClaim", pvcv.persistentVolumeClaim.claimName);
	say(pvc && JSON.stringify(pvc.spec.accessModes) === '["ReadWriteOnce"]', "state on a ReadWriteOnce PVC of this kustomization");
	say(pvcv && mounts[pvcv.name].mountPath === "/var/lib/atsrecon", "the PVC is mounted at /var/lib/atsrecon");
	const cmv = Object.values(vols).find((v) => v.configMap);
	say(cmv && find("ConfigMap", cmv.configMap.name), `config from the ConfigMap ${cmv && cmv.configMap.name} of this kustomization`);
	const sv = Object.values(vols).find((v) => v.secret);
	say(sv && sv.secret.secretName === secret.metadata.name && mounts[sv.name].mountPath === "/run/secrets/atsrecon" &&
	    mounts[sv.name].readOnly === true, `secrets as files: Secret ${sv && sv.secret.secretName} at /run/secrets/atsrecon, read-only`);
	say(sv && (sv.secret.defaultMode & 0o007) === 0, "secret files not world-readable (defaultMode)");
	say(Object.values(vols).some((v) => v.emptyDir) && c.volumeMounts.some((m) => m.mountPath === "/tmp"), "a writable /tmp (emptyDir)");
	const cm = find("ConfigMap", cmv.configMap.name), cmount = mounts[cmv.name].mountPath;
	if (multi) {
		const names = Object.keys(cm.data).filter((k) => /\.jsonc?$/.test(k));
		say(js.completionMode === "Indexed", "completionMode: Indexed");
		say(js.completions === names.length, `completions ${js.completions} = ${names.length} tenant configs`);
		say(js.parallelism >= 1 && js.parallelism <= js.completions, `parallelism ${js.parallelism}`);
		const d = c.args.indexOf("--config-dir");
		say(c.args[0] === "run" && d > 0 && c.args[d + 1] === cmount && !c.args.includes("--index"),
		    `args: run --config-dir ${cmount} (the ConfigMap's mount), no --index`);
	} else {
		const k = c.args.indexOf("--config");
		say(c.args[0] === "run" && k > 0 && c.args[k + 1] === path.posix.join(cmount, Object.keys(cm.data)[0]),
		    `args: run --config ${c.args[k + 1]} (the ConfigMap's file)`);
	}
	console.log("END");
	process.exit(0);
}

if (cmd === "assemble") {	// assemble DIR: a stand-in for kustomize (resources, configMapGenerator, namespace, images)
	const out = [];
	const walk = (dir) => {
		const k = YAML.parse(fs.readFileSync(path.join(dir, "kustomization.yaml"), "utf8"));
		const known = ["apiVersion", "kind", "namespace", "resources", "configMapGenerator", "generatorOptions", "images"];
		for (const key of Object.keys(k)) if (!known.includes(key)) throw new Error(`${dir}/kustomization.yaml: unknown field ${key}`);
		const objs = [];
		for (const r of k.resources || []) {
			const p = path.join(dir, r);
			if (fs.statSync(p).isDirectory()) objs.push(...walk(p)); else objs.push(...load(p));
		}
		for (const g of k.configMapGenerator || []) {
			const data = {};
			for (const f of g.files) data[path.basename(f)] = fs.readFileSync(path.join(dir, f), "utf8");
			objs.push({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: g.name }, data });
		}
		for (const o of objs) {
			if (k.namespace && o.kind !== "Namespace") o.metadata.namespace = k.namespace;
			const spec = o.kind === "CronJob" ? o.spec.jobTemplate.spec.template.spec : null;
			for (const im of k.images || []) for (const c of spec ? spec.containers : [])
				if (c.image.split(":")[0] === im.name) c.image = `${im.name}:${im.newTag}`;
		}
		return objs;
	};
	console.log(walk(args[0]).map((o) => YAML.stringify(o)).join("---\n"));
	process.exit(0);
}
console.error("usage: k8s.cjs validate|configmap|secret|args|require|assemble ...");
process.exit(2);
EOF

cat >"$T_TMP/sam.cjs" <<'EOF'
// The SAM template: YAML with CloudFormation's short tags, checked against AWS's
// resource specification (@aws-cdk/aws-service-spec: CloudFormation and SAM types),
// then the requirements of deploy/lambda/template.yaml.
const fs = require("fs"), path = require("path"), zlib = require("zlib"), YAML = require("yaml");
const FNS = ["Ref", "Condition", "Sub", "GetAtt", "Join", "If", "Select", "Split", "ImportValue", "FindInMap",
	"Base64", "GetAZs", "Cidr", "Equals", "Not", "And", "Or", "Transform", "ToJsonString", "Length"];
const tags = [];
for (const f of FNS) {
	const key = f === "Ref" || f === "Condition" ? f : "Fn::" + f;
	const conv = (v) => f === "GetAtt" && typeof v === "string"
		? { [key]: [v.slice(0, v.indexOf(".")), v.slice(v.indexOf(".") + 1)] } : { [key]: v };
	tags.push({ tag: "!" + f, resolve: (s) => conv(s) });
	for (const collection of ["seq", "map"]) tags.push({ tag: "!" + f, collection, resolve: (s) => conv(s.toJSON()) });
}
const [cmd, file, top] = process.argv.slice(2);
const doc = YAML.parseDocument(fs.readFileSync(file, "utf8"), { customTags: tags });
if (doc.errors.length) { console.log("FAIL YAML: " + doc.errors[0].message); process.exit(1); }
const tpl = doc.toJS();
const say = (c, d) => console.log((c ? "PASS " : "FAIL ") + d);
const isFn = (v) => v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 1 &&
	(Object.keys(v)[0] === "Ref" || Object.keys(v)[0].startsWith("Fn::"));
const dur = (s) => { const m = /^(\d+)(s|m|h)$/.exec(s); return m ? +m[1] * { s: 1, m: 60, h: 3600 }[m[2]] : NaN; };

if (cmd === "spec") {
	const specf = require.resolve("@aws-cdk/aws-service-spec/db.json.gz");
	const db = JSON.parse(zlib.gunzipSync(fs.readFileSync(specf))).schema;
	const res = {}, types = {};
	for (const r of Object.values(db.resource.entities)) res[r.cloudFormationType] = r;
	for (const t of Object.values(db.typeDefinition.entities)) types[t.$id] = t;
	const errs = [];
	// check(value, type, where) -> list of errors (empty: fits)
	const check = (v, t, where) => {
		if (isFn(v)) return [];
		switch (t.type) {
		case "string": return typeof v === "string" || typeof v === "number" ? [] : [`${where}: expected a string`];
		case "number": case "integer":
			return typeof v === "number" || (typeof v === "string" && /^-?\d+(\.\d+)?$/.test(v)) ? [] : [`${where}: expected a number`];
		case "boolean": return typeof v === "boolean" || v === "true" || v === "false" ? [] : [`${where}: expected a boolean`];
		case "json": return v !== null && typeof v === "object" ? [] : [`${where}: expected an object`];
		case "date-time": return typeof v === "string" ? [] : [`${where}: expected a timestamp`];
		case "tag": return v && typeof v === "object" && "Key" in v && "Value" in v ? [] : [`${where}: expected a tag`];
		case "array":
			if (!Array.isArray(v)) return [`${where}: expected a list`];
			return v.flatMap((e, i) => check(e, t.element, `${where}[${i}]`));
		case "map":
			if (!v || typeof v !== "object" || Array.isArray(v)) return [`${where}: expected a map`];
			return Object.entries(v).flatMap(([k, e]) => check(e, t.element, `${where}.${k}`));
		case "ref": return props(v, types[t.reference.$ref].properties, where);
		case "union": {
			const tries = t.types.map((u) => check(v, u, where));
			return tries.some((x) => x.length === 0) ? [] : tries.sort((a, b) => a.length - b.length)[0];
		}
		default: return [];
		}
	};
	const props = (v, spec, where) => {
		if (!v || typeof v !== "object" || Array.isArray(v)) return [`${where}: expected an object`];
		const e = [];
		for (const k of Object.keys(v)) if (!spec[k]) e.push(`${where}: unknown property ${k}`);
		for (const [k, p] of Object.entries(spec)) {
			if (p.required && !(k in v)) e.push(`${where}: missing required property ${k}`);
			if (k in v) e.push(...check(v[k], p.type, `${where}.${k}`));
		}
		return e;
	};
	const TOP = ["AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules", "Mappings",
		"Conditions", "Transform", "Resources", "Outputs", "Globals"];
	for (const k of Object.keys(tpl)) if (!TOP.includes(k)) errs.push(`unknown top-level section ${k}`);
	const PTYPES = /^(String|Number|List<Number>|CommaDelimitedList|AWS::[A-Za-z0-9:<>-]+|List<AWS::[A-Za-z0-9:<>-]+>)$/;
	const PKEYS = ["Type", "Default", "AllowedPattern", "AllowedValues", "ConstraintDescription", "Description",
		"MaxLength", "MinLength", "MaxValue", "MinValue", "NoEcho"];
	for (const [n, p] of Object.entries(tpl.Parameters || {})) {
		for (const k of Object.keys(p)) if (!PKEYS.includes(k)) errs.push(`Parameters.${n}: unknown key ${k}`);
		if (!PTYPES.test(p.Type || "")) errs.push(`Parameters.${n}: bad Type ${p.Type}`);
		if (p.AllowedPattern && p.Default !== undefined && !new RegExp(p.AllowedPattern).test(String(p.Default)))
			errs.push(`Parameters.${n}: Default does not match AllowedPattern`);
	}
	const RKEYS = ["Type", "Properties", "DependsOn", "Condition", "DeletionPolicy", "UpdateReplacePolicy",
		"Metadata", "UpdatePolicy", "CreationPolicy"];
	const names = new Set([...Object.keys(tpl.Parameters || {}), ...Object.keys(tpl.Resources || {}),
		"AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition", "AWS::Region",
		"AWS::StackId", "AWS::StackName", "AWS::URLSuffix"]);
	for (const [n, r] of Object.entries(tpl.Resources || {})) {
		for (const k of Object.keys(r)) if (!RKEYS.includes(k)) errs.push(`Resources.${n}: unknown key ${k}`);
		const s = res[r.Type];
		if (!s) { errs.push(`Resources.${n}: unknown resource type ${r.Type}`); continue; }
		errs.push(...props(r.Properties || {}, s.properties, `Resources.${n}`));
		for (const p of ["DeletionPolicy", "UpdateReplacePolicy"])
			if (r[p] && !["Delete", "Retain", "Snapshot", "RetainExceptOnCreate"].includes(r[p])) errs.push(`Resources.${n}.${p}: ${r[p]}`);
	}
	// every Ref, GetAtt and ${...} names something that exists
	const walk = (v, where) => {
		if (Array.isArray(v)) return v.forEach((e, i) => walk(e, `${where}[${i}]`));
		if (!v || typeof v !== "object") return;
		if ("Ref" in v && !names.has(v.Ref)) errs.push(`${where}: Ref to unknown ${v.Ref}`);
		if ("Fn::GetAtt" in v) {
			const [rn, at] = v["Fn::GetAtt"], r = (tpl.Resources || {})[rn];
			if (!r) errs.push(`${where}: GetAtt of unknown resource ${rn}`);
			else if (res[r.Type] && !res[r.Type].cloudFormationTransform && !(res[r.Type].attributes || {})[at])
				errs.push(`${where}: ${r.Type} has no attribute ${at}`);
		}
		if ("Fn::Sub" in v) {
			const [s, vars] = Array.isArray(v["Fn::Sub"]) ? v["Fn::Sub"] : [v["Fn::Sub"], {}];
			for (const m of String(s).matchAll(/\$\{([^!}][^}]*)\}/g)) {
				const base = m[1].split(".")[0];
				if (!names.has(m[1]) && !names.has(base) && !(vars && base in vars)) errs.push(`${where}: \${${m[1]}} names nothing`);
			}
		}
		for (const [k, e] of Object.entries(v)) walk(e, `${where}.${k}`);
	};
	walk(tpl.Resources, "Resources");
	walk(tpl.Outputs, "Outputs");
	for (const e of errs) console.log(e);
	console.log(`${Object.keys(tpl.Resources || {}).length} resources, ${errs.length} errors`);
	process.exit(errs.length ? 1 : 0);
}

if (cmd === "require") {
	const R = tpl.Resources || {};
	say(tpl.Transform === "AWS::Serverless-2016-10-31", "Transform AWS::Serverless-2016-10-31");
	const fnn = Object.keys(R).find((k) => R[k].Type === "AWS::Serverless::Function"), fn = fnn && R[fnn].Properties;
	say(fn, "one AWS::Serverless::Function");
	if (!fn) { console.log("END"); process.exit(0); }
	say(fn.Runtime === "provided.al2023" && fn.Handler === "bootstrap", "Runtime provided.al2023, Handler bootstrap");
	say(JSON.stringify(fn.Architectures) === '["x86_64"]', "Architectures [x86_64]");
	const code = path.resolve(path.dirname(file), fn.CodeUri);
	say(code === path.join(top, "build/lambda/atsrecon-lambda.zip"), `CodeUri is what ./build.sh lambda writes (${path.relative(top, code)})`);
	const env = (fn.Environment || {}).Variables || {};
	const mr = dur(env.ATSRECON_RUN_MAX_RUNTIME || "");
	say(fn.Timeout <= 900 && fn.Timeout - mr >= 30 && fn.Timeout - mr <= 180,
	    `ATSRECON_RUN_MAX_RUNTIME ${env.ATSRECON_RUN_MAX_RUNTIME} is ${fn.Timeout - mr} s below Timeout ${fn.Timeout} (30..180)`);
	const ev = Object.values(fn.Events || {});
	say(ev.length === 1 && ["Schedule", "ScheduleV2"].includes(ev[0].Type), "one EventBridge schedule event");
	say(fn.ReservedConcurrentExecutions === 1, "ReservedConcurrentExecutions 1 (never two runs)");
	say((fn.Layers || []).length === 1, "the Parameters and Secrets extension layer");
	const bn = Object.keys(R).find((k) => R[k].Type === "AWS::S3::Bucket"), b = bn && R[bn].Properties;
	say(b && b.VersioningConfiguration && b.VersioningConfiguration.Status === "Enabled", "state bucket versioned");
	say(b && b.BucketEncryption && b.BucketEncryption.ServerSideEncryptionConfiguration.length > 0, "state bucket encrypted");
	const pab = (b && b.PublicAccessBlockConfiguration) || {};
	say(["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"].every((k) => pab[k] === true),
	    "state bucket: all four public access blocks");
	say(R[bn].DeletionPolicy === "Retain", "state bucket kept when the stack goes (it holds the Keap tokens)");
	say(JSON.stringify(env.ATSRECON_STATE_URL) === JSON.stringify({ "Fn::Sub": `s3://\${${bn}}/\${StatePrefix}` }),
	    "ATSRECON_STATE_URL = s3://<bucket>/<prefix>");
	// least privilege: only these actions, each on the state prefix
	const st = (fn.Policies || []).flatMap((p) => (p && p.Statement) || []);
	const objArn = JSON.stringify({ "Fn::Sub": `arn:\${AWS::Partition}:s3:::\${${bn}}/\${StatePrefix}/*` });
	const bktArn = JSON.stringify({ "Fn::Sub": `arn:\${AWS::Partition}:s3:::\${${bn}}` });
	const acts = st.flatMap((s) => [].concat(s.Action));
	say(JSON.stringify([...acts].sort()) === JSON.stringify(["s3:DeleteObject", "s3:GetObject", "s3:ListBucket", "s3:PutObject", "ssm:GetParameter"]),
	    `actions exactly Get/Put/DeleteObject, ListBucket, ssm:GetParameter (${acts.join(" ")})`);
	say(st.every((s) => s.Effect === "Allow" && !JSON.stringify(s).includes('"*"') && !/:\*"/.test(JSON.stringify(s.Action))),
	    "no wildcard action or resource");
	say(st.filter((s) => [].concat(s.Action).some((a) => /Object$/.test(a))).every((s) => JSON.stringify(s.Resource) === objArn),
	    "object actions only on arn:...:s3:::<bucket>/<prefix>/*");
	const lb = st.find((s) => [].concat(s.Action).includes("s3:ListBucket"));
	say(lb && JSON.stringify(lb.Resource) === bktArn &&
	    JSON.stringify(lb.Condition) === JSON.stringify({ StringLike: { "s3:prefix": [{ "Fn::Sub": "${StatePrefix}/*" }] } }),
	    "ListBucket only with the s3:prefix condition <prefix>/*");
	const ssm = st.find((s) => [].concat(s.Action).includes("ssm:GetParameter"));
	say(ssm && /parameter\/\$\{SecretsPath\}\/\*$/.test(JSON.stringify(ssm.Resource).replace(/"}$/, "")) ,
	    "ssm:GetParameter only under /<SecretsPath>/");
	console.log("END");
	process.exit(0);
}

if (cmd === "env") {	// the function's environment, ${...} filled with sample values
	const R = tpl.Resources, fn = Object.values(R).find((r) => r.Type === "AWS::Serverless::Function").Properties;
	const sample = { StateBucket: "atsrecon-statebucket-example", AWSPartition: "aws" };
	for (const [k, p] of Object.entries(tpl.Parameters || {})) if (p.Default !== undefined) sample[k] = p.Default;
	for (const [k, v] of Object.entries(fn.Environment.Variables)) {
		const s = typeof v === "string" ? v : String(v["Fn::Sub"]).replace(/\$\{([^}]+)\}/g, (_, n) => sample[n] || n);
		console.log(`${k}=${s}`);
	}
	process.exit(0);
}
console.error("usage: sam.cjs spec|require|env FILE [TOP]");
process.exit(2);
EOF
cd "$T_TMP" || exit 1

# ---------------------------------------------------------------- the fakes
# One world for every "run it for real" check below: a few candidates in the
# Greenhouse fake, an empty Keap fake.
start_fake keap || { t_done; exit 1; }
KU=$FAKE_URL
start_fake greenhouse --limit-per-window 100000 || { t_done; exit 1; }
GU=$FAKE_URL
kadm() { python3 "$TOP/tests/fakes/admin.py" "$KU" "$CA" "$@"; }
gadm() { python3 "$TOP/tests/fakes/admin.py" "$GU" "$CA" "$@"; }
for i in 1 2 3; do
	gadm POST /_admin/add-candidate "{\"id\": 90$i, \"first_name\": \"Dee$i\", \"last_name\": \"Ploy\",
	  \"email_addresses\": [{\"value\": \"dee$i@example.com\", \"type\": \"work\"}],
	  \"applications\": [{\"status\": \"in_process\", \"job_id\": 4001, \"stage_name\": \"Offer\"}]}" >/dev/null ||
		not_ok "seed candidate $i"
done
new_refresh_token() { kadm POST /_admin/tokens '{}' --get refresh_token; }

# The configuration the systemd and cron checks use: the fakes' URLs, secrets
# as *_file keys (as in production), a state directory of its own.
mkdir -p "$T_TMP/creds" "$T_TMP/etc"
printf 'atsrecon-test-secret\n' >"$T_TMP/creds/keap_client_secret"
printf 'gh-secret\n' >"$T_TMP/creds/greenhouse_client_secret"
chmod 600 "$T_TMP/creds/"*
host_config() {	# host_config FILE STATE_DIR
	cat >"$1" <<EOC
{
  "ats": { "kind": "greenhouse", "base_url": "$GU/v3", "auth_url": "$GU/auth", "client_id": "gh-client",
           "client_secret_file": "$T_TMP/creds/greenhouse_client_secret", "user_id": "4711" },
  "keap": { "base_url": "$KU/crm/rest", "token_url": "$KU/token", "client_id": "atsrecon-test-client",
            "client_secret_file": "$T_TMP/creds/keap_client_secret", "max_rps": 50 },
  "http": { "ca_file": "$CA", "max_retries": 2 },
  "state": { "dir": "$2" },
  "fields": [ { "from": "first_name", "to": "given_name" }, { "from": "last_name", "to": "family_name" },
              { "from": "email", "to": "email:EMAIL1" } ]
}
EOC
}

# ================================================================ systemd
U="$T_TMP/units"
mkdir -p "$U"
# verify needs ExecStart's binary to exist: the copy points at the binary under
# test, and that is the only line that differs from deploy/systemd.
sed "s#^ExecStart=/usr/local/bin/atsrecon #ExecStart=$ATSRECON #" "$D/systemd/atsrecon.service" >"$U/atsrecon.service"
cp "$D/systemd/atsrecon.timer" "$U/atsrecon.timer"
check "the unit copy differs in the ExecStart binary only" \
	test "$(diff "$D/systemd/atsrecon.service" "$U/atsrecon.service" | grep -c '^[<>]')" = 2
verify_units() {	# verify_units DIR: exit 0 and not one message
	(cd "$1" && systemd-analyze verify --man=no ./atsrecon.service ./atsrecon.timer) >"$T_TMP/verify.out" 2>&1 &&
		[ ! -s "$T_TMP/verify.out" ]
}
if verify_units "$U"; then
	ok "systemd-analyze verify: atsrecon.service and atsrecon.timer, no message"
else
	not_ok "systemd-analyze verify"
	sed 's/^/    /' "$T_TMP/verify.out" | head -20
fi
for bad in "s/^ProtectSystem=strict/ProtectSytem=strict/|service|a misspelt directive" \
	"s/^TimeoutStartSec=.*/TimeoutStartSec=55 parsecs/|service|a bad time span" \
	"s/^OnCalendar=.*/OnCalendar=*-*-* 25:07:00/|timer|a bad calendar"; do
	IFS='|' read -r expr which what <<<"$bad"
	rm -rf "$T_TMP/ubad" && cp -r "$U" "$T_TMP/ubad"
	if ! sed -i "$expr" "$T_TMP/ubad/atsrecon.$which" || cmp -s "$U/atsrecon.$which" "$T_TMP/ubad/atsrecon.$which"; then
		not_ok "broken copy ($what) was not made"
	elif verify_units "$T_TMP/ubad"; then
		not_ok "verify passes a unit with $what"
	else
		ok "verify fails on $what: $(head -n1 "$T_TMP/verify.out" | sed 's#.*/##')"
	fi
done

SVC="$D/systemd/atsrecon.service"
unit_val() { sed -n "s/^$1=//p" "$2"; }
miss=""
for kv in Type=oneshot DynamicUser=yes StateDirectory=atsrecon ProtectSystem=strict ProtectHome=yes \
	PrivateTmp=yes PrivateDevices=yes NoNewPrivileges=yes ProtectKernelTunables=yes ProtectKernelModules=yes \
	ProtectKernelLogs=yes ProtectControlGroups=yes ProtectClock=yes ProtectHostname=yes \
	"RestrictAddressFamilies=AF_INET AF_INET6" RestrictNamespaces=yes RestrictRealtime=yes RestrictSUIDSGID=yes \
	LockPersonality=yes MemoryDenyWriteExecute=yes SystemCallFilter=@system-service SystemCallArchitectures=native \
	CapabilityBoundingSet= SuccessExitStatus=75 KillSignal=SIGTERM; do
	grep -q -x -F -- "$kv" "$SVC" || miss="$miss $kv"
done
check "atsrecon.service has every required setting${miss:+ (missing:$miss)}" test -z "$miss"
check "ExecStart runs /usr/local/bin/atsrecon run --config /etc/atsrecon/atsrecon.jsonc" \
	grep -q '^ExecStart=/usr/local/bin/atsrecon run --config /etc/atsrecon/atsrecon.jsonc' "$SVC"
check "secrets come through LoadCredential=" grep -q '^LoadCredential=keap_client_secret:' "$SVC"

usec() { systemd-analyze timespan "$1" 2>/dev/null | sed -n 's/^ *μs: //p'; }
mrt=$(unit_val ExecStart "$SVC" | sed -n 's/.*--max-runtime \([^ ]*\).*/\1/p')
tss=$(unit_val TimeoutStartSec "$SVC")
mrt_us=$(usec "$mrt")
tss_us=$(usec "$tss")
if [ -n "$mrt_us" ] && [ -n "$tss_us" ]; then
	margin=$(((tss_us - mrt_us) / 1000000))
	check "TimeoutStartSec $tss is --max-runtime $mrt plus $margin s (2..15 min)" test "$margin" -ge 120 -a "$margin" -le 900
else
	not_ok "--max-runtime ($mrt) and TimeoutStartSec ($tss) parse as time spans"
fi
cal=$(unit_val OnCalendar "$D/systemd/atsrecon.timer")
check "OnCalendar $cal is a valid calendar spec (systemd-analyze calendar)" \
	bash -c 'systemd-analyze calendar "$1" >/dev/null' _ "$cal"
check "the timer has RandomizedDelaySec and Persistent=true" \
	bash -c "grep -q '^RandomizedDelaySec=' '$D/systemd/atsrecon.timer' && grep -q -x 'Persistent=true' '$D/systemd/atsrecon.timer'"
(cd "$U" && systemd-analyze security --offline=yes --no-pager --threshold=15 ./atsrecon.service) >"$T_TMP/security.out" 2>&1
src=$?
score=$(sed -n 's/.*Overall exposure level for atsrecon.service: \([0-9.]*\).*/\1/p' "$T_TMP/security.out")
if [ "$src" = 0 ] && [ -n "$score" ]; then
	ok "systemd-analyze security --offline: exposure $score (threshold 1.5)"
else
	not_ok "systemd-analyze security --offline: exposure '${score:-?}' over 1.5 (exit $src)"
fi

# ExecStart and Environment= for real: the credentials directory (%d) holds the
# right secrets, the config's *_file keys point at wrong ones, so the run only
# succeeds if the unit's ATSRECON_*_FILE variables are honoured.
SD="$T_TMP/state-systemd"
mkdir -p "$SD" "$T_TMP/credentials.d" "$T_TMP/wrong"
host_config "$T_TMP/etc/systemd.jsonc" "$SD"
sed -i "s#$T_TMP/creds/#$T_TMP/wrong/#" "$T_TMP/etc/systemd.jsonc"
printf 'wrong\n' >"$T_TMP/wrong/keap_client_secret"
printf 'wrong\n' >"$T_TMP/wrong/greenhouse_client_secret"
chmod 600 "$T_TMP/wrong/"*
unit_env=()
while IFS= read -r line; do
	v=${line#Environment=}
	unit_env+=("${v//%d/$T_TMP/credentials.d}")
done < <(grep '^Environment=' "$SVC")
while IFS= read -r line; do	# LoadCredential=NAME:PATH -> %d/NAME (systemd's copy)
	v=${line#LoadCredential=}
	name=${v%%:*}
	case "$name" in
	keap_client_secret) cp "$T_TMP/creds/keap_client_secret" "$T_TMP/credentials.d/$name" ;;
	greenhouse_client_secret) cp "$T_TMP/creds/greenhouse_client_secret" "$T_TMP/credentials.d/$name" ;;
	*) printf 'unused\n' >"$T_TMP/credentials.d/$name" ;;
	esac
done < <(grep '^LoadCredential=' "$SVC")
read -r -a execstart <<<"$(unit_val ExecStart "$SVC")"
execstart[0]=$ATSRECON
for i in "${!execstart[@]}"; do
	[ "${execstart[$i]}" = /etc/atsrecon/atsrecon.jsonc ] && execstart[$i]=$T_TMP/etc/systemd.jsonc
done
expect_rc 0 "bootstrap the Keap token in the systemd state" \
	env "${unit_env[@]}" "$ATSRECON" auth keap --refresh-token "$(new_refresh_token)" -c "$T_TMP/etc/systemd.jsonc"
STRACE=""
if file -b "$ATSRECON" | grep -q 'statically linked' && command -v strace >/dev/null; then
	STRACE="strace -f -qq -o $T_TMP/strace.out"	# the static release binary: its own syscalls only
fi
expect_rc 0 "the unit's ExecStart with its Environment= runs against the fakes" \
	env -C "$SD" "${unit_env[@]}" $STRACE "${execstart[@]}"
run env "${unit_env[@]}" "$ATSRECON" check -c "$T_TMP/etc/systemd.jsonc"
check "the secrets came from the credentials directory (%d), not the config's files" \
	out_has "ATSRECON_KEAP_CLIENT_SECRET_FILE, from file $T_TMP/credentials.d/keap_client_secret"
expect_rc 0 "status after it" "$ATSRECON" status --state-dir "$SD"

if [ -n "$STRACE" ] && [ -s "$T_TMP/strace.out" ]; then
	# SystemCallFilter=@system-service, then ~@privileged @resources: expand the
	# groups as systemd-analyze lists them and compare with what the run called.
	systemd-analyze syscall-filter 2>/dev/null >"$T_TMP/groups.txt"
	cat >"$T_TMP/sandbox.py" <<'EOF'
import re, sys
groups, cur = {}, None
for line in open(sys.argv[1]):
    s = line.strip()
    if not s or s.startswith("#"):
        continue
    if not line.startswith(" "):
        cur = s; groups[cur] = []
    elif cur:
        groups[cur].append(s)
def expand(name, seen=()):
    if not name.startswith("@"):
        return {name}
    out = set()
    for m in groups.get(name, []):
        if m not in seen:
            out |= expand(m, seen + (name,))
    return out
allow, deny = set(), set()
families, exec_maps = set(), []
for line in open(sys.argv[3]):
    m = re.match(r"SystemCallFilter=(~?)(.*)", line.strip())
    if m:
        names = set().union(*(expand(n) for n in m.group(2).split()))
        (deny if m.group(1) else allow).update(names)
    m = re.match(r"RestrictAddressFamilies=(.*)", line.strip())
    if m:
        families = set(m.group(1).split())
allowed = allow - deny
used, fams = set(), set()
for line in open(sys.argv[2]):
    m = re.match(r"\d+\s+(?:<\.\.\. )?([a-z0-9_]+)[( ]", line)
    if m and m.group(1) not in ("resumed", "exited", "killed"):
        used.add(m.group(1))
    m = re.search(r"\bsocket\((AF_[A-Z0-9]+)", line)
    if m:
        fams.add(m.group(1))
    if re.search(r"\b(mmap|mprotect|pkey_mprotect)\(.*PROT_EXEC", line) and "PROT_WRITE" in line:
        exec_maps.append(line.strip())
bad = sorted(used - allowed)
print(("PASS" if used and not bad else "FAIL") +
      f" the run's {len(used)} syscalls are all allowed by SystemCallFilter=" + (f" (denied: {' '.join(bad)})" if bad else ""))
print(("PASS" if fams and fams <= families else "FAIL") +
      f" socket families used {' '.join(sorted(fams))} within RestrictAddressFamilies={' '.join(sorted(families))}")
print(("PASS" if not exec_maps else "FAIL") + " no writable+executable mapping (MemoryDenyWriteExecute=)"
      + (": " + exec_maps[0] if exec_maps else ""))
print("END")
EOF
	checks_from "sandbox check" < <(python3 "$T_TMP/sandbox.py" "$T_TMP/groups.txt" "$T_TMP/strace.out" "$SVC")
else
	note "syscall check skipped: $ATSRECON is not the static release binary (or strace is missing)"
fi

# ================================================================ cron
CT="$D/cron/crontab.example"
python3 - "$CT" >"$T_TMP/cron.parsed" <<'EOF' || not_ok "crontab.example does not parse"
import re, sys
ranges = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
names = {3: "jan feb mar apr may jun jul aug sep oct nov dec".split(), 4: "sun mon tue wed thu fri sat".split()}
def field_ok(f, i):
    lo, hi = ranges[i]
    for part in f.split(","):
        m = re.fullmatch(r"(\*|\d+(?:-\d+)?|[a-z]{3})(?:/(\d+))?", part.lower())
        if not m:
            return False
        a = m.group(1)
        if a[0].isalpha():
            if a not in names.get(i, []):
                return False
            continue
        if a != "*":
            for n in map(int, a.split("-")):
                if not lo <= n <= hi:
                    return False
        if m.group(2) is not None and int(m.group(2)) < 1:
            return False
    return True
errors = 0
for n, line in enumerate(open(sys.argv[1]), 1):
    s = line.rstrip("\n")
    if not s.strip() or s.lstrip().startswith("#"):
        continue
    m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", s)
    if m:
        print("ENV\t%s\t%s" % (m.group(1), m.group(2)))
        continue
    parts = s.split(None, 5)
    if len(parts) < 6 or not all(field_ok(parts[i], i) for i in range(5)):
        print("ERR\tline %d: bad schedule: %s" % (n, s)); errors += 1; continue
    if "%" in parts[5]:
        print("ERR\tline %d: unescaped %% (cron makes it a newline)" % n); errors += 1; continue
    print("JOB\t%s\t%s" % (" ".join(parts[:5]), parts[5]))
sys.exit(1 if errors else 0)
EOF
check "crontab.example: every line is a comment, an assignment or a job with a valid schedule" \
	bash -c "! grep -q '^ERR' '$T_TMP/cron.parsed' && grep -q '^JOB' '$T_TMP/cron.parsed'"
grep '^ERR' "$T_TMP/cron.parsed" | sed 's/^/    /'
RUNJOB=$(awk -F'\t' '$1 == "JOB" && $3 ~ /atsrecon run/ { print $3 }' "$T_TMP/cron.parsed")
STATJOB=$(awk -F'\t' '$1 == "JOB" && $3 ~ /atsrecon status/ { print $3 }' "$T_TMP/cron.parsed")
check "a run line with --jitter and --max-runtime" bash -c "[[ '$RUNJOB' == *'--jitter '* && '$RUNJOB' == *'--max-runtime '* ]]"
check "the dead-man's switch on its own line: status --stale-after 36h" \
	bash -c "[[ '$STATJOB' == *'atsrecon status --stale-after 36h'* ]]"

# Run the lines as cron does: /bin/sh -c, the crontab's variables, nothing else
# (PATH and the two paths moved into the test directory). --jitter is cut to 1s.
mkdir -p "$T_TMP/bin" "$T_TMP/log"
ln -s "$ATSRECON" "$T_TMP/bin/atsrecon"
CS="$T_TMP/state-cron"
mkdir -p "$CS"
host_config "$T_TMP/etc/cron.jsonc" "$CS"
cron_env=()
while IFS=$'\t' read -r kind k v; do
	[ "$kind" = ENV ] || continue
	case "$k" in
	PATH) v="$T_TMP/bin:/usr/bin:/bin" ;;
	ATSRECON_CONFIG) v="$T_TMP/etc/cron.jsonc" ;;
	LOGFILE) v="$T_TMP/log/atsrecon.log" ;;
	MAILTO) continue ;;
	esac
	cron_env+=("$k=$v")
done <"$T_TMP/cron.parsed"
RUNJOB_T=$(printf '%s' "$RUNJOB" | sed -E 's/--jitter [^ ]+/--jitter 1s/')
check "the test changes only the jitter of the run line" test "$(printf '%s' "$RUNJOB_T" | grep -c -- '--jitter 1s')" = 1
cronjob() { env -i HOME="$T_TMP" LOGNAME=atsrecon "${cron_env[@]}" ${EXTRA_ENV:-} /bin/sh -c "$1"; }
run cronjob "$STATJOB"
check "before any run the status line speaks up (cron mails it)" out_has "no successful run for 36 hours"
run cronjob "$RUNJOB_T"
check "the run line before the token exists says why (exit 4 is for a person)" out_has "failed with exit status 4"
expect_rc 0 "bootstrap the Keap token in the cron state" \
	env ATSRECON_CONFIG="$T_TMP/etc/cron.jsonc" "$ATSRECON" auth keap --refresh-token "$(new_refresh_token)"
run cronjob "$RUNJOB_T"
check "a good run prints nothing (no mail)" test ! -s "$T_TMP/out" -a ! -s "$T_TMP/err"
check "its log went to \$LOGFILE as JSON lines" bash -c "grep -q '^{.*\"level\"' '$T_TMP/log/atsrecon.log'"
run cronjob "$STATJOB"
check "the status line is silent after a good run" test ! -s "$T_TMP/out" -a ! -s "$T_TMP/err"
flock "$CS/lock" sleep 3 &
T_PIDS+=($!)
sleep 0.3
before=$(wc -l <"$T_TMP/log/atsrecon.log")
run cronjob "$RUNJOB_T"
check "a run that finds the lock held (exit 75) prints nothing" test ! -s "$T_TMP/out" -a ! -s "$T_TMP/err"
check "... and did log why" bash -c "tail -n +$((before + 1)) '$T_TMP/log/atsrecon.log' | grep -q -i 'lock'"
EXTRA_ENV="ATSRECON_GUARDS_MAX_CREATES=abc" run cronjob "$RUNJOB_T"
check "a configuration error (exit 3) is mailed" out_has "failed with exit status 3"

# ================================================================ Kubernetes
K="$D/k8s"
UID_IMG=$(sed -n 's/^USER \([0-9]*\):[0-9]*$/\1/p' "$TOP/Dockerfile")
check "the Dockerfile runs as a numeric non-root user ($UID_IMG)" test -n "$UID_IMG" -a "${UID_IMG:-0}" != 0
render() {	# render DIR OUT
	if command -v kustomize >/dev/null; then
		kustomize build "$1" >"$2" 2>"$T_TMP/render.err"
	elif command -v kubectl >/dev/null && kubectl kustomize --help >/dev/null 2>&1; then
		kubectl kustomize "$1" >"$2" 2>"$T_TMP/render.err"
	else
		node "$T_TMP/k8s.cjs" assemble "$1" >"$2" 2>"$T_TMP/render.err"
	fi
}
if command -v kustomize >/dev/null; then RENDERER="kustomize $(kustomize version 2>/dev/null | head -n1)"
elif command -v kubectl >/dev/null && kubectl kustomize --help >/dev/null 2>&1; then
	RENDERER="kubectl kustomize ($(kubectl version --client 2>/dev/null | sed -n 's/Kustomize Version: //p'))"
else
	RENDERER="the test's own assembler (no kustomize on this machine: resources, generators, namespace, images only)"
fi
note "renderer: $RENDERER"
for v in base:"$K" multi-tenant:"$K/multi-tenant"; do
	name=${v%%:*}
	dir=${v#*:}
	if render "$dir" "$T_TMP/k8s-$name.yaml"; then
		ok "kustomization renders: $name ($(grep -c '^kind:' "$T_TMP/k8s-$name.yaml") objects)"
	else
		not_ok "kustomization renders: $name"
		sed 's/^/    /' "$T_TMP/render.err" | head -5
	fi
done
rm -rf "$T_TMP/kbad" && cp -r "$K" "$T_TMP/kbad"
printf 'commonLabelz:\n  team: recruiting\n' >>"$T_TMP/kbad/kustomization.yaml"
if render "$T_TMP/kbad" "$T_TMP/kbad.yaml"; then
	not_ok "a kustomization.yaml with an unknown field renders"
else
	ok "an unknown kustomization.yaml field fails: $(grep -o 'unknown field.*' "$T_TMP/render.err" | head -n1 | tr -d '\\"' | cut -c1-40)"
fi

validate() { node "$T_TMP/k8s.cjs" validate "$@" >"$T_TMP/validate.out" 2>&1; }
if validate "$T_TMP/k8s-base.yaml" "$T_TMP/k8s-multi-tenant.yaml" "$K/secret.example.yaml" \
	"$K/multi-tenant/secret.example.yaml" "$K/keap-auth-job.yaml"; then
	ok "Kubernetes schemas and strict fields: $(tail -n1 "$T_TMP/validate.out") (kubernetes-models + TypeScript)"
else
	not_ok "Kubernetes schema validation"
	sed 's/^/    /' "$T_TMP/validate.out" | head -20
fi
for bad in "s/concurrencyPolicy: Forbid/concurencyPolicy: Forbid/|a misspelt field" \
	"s/readOnlyRootFilesystem: true/readOnlyRootFilesystem: \"yes\"/|a string for a boolean" \
	"s/completionMode: Indexed/completionMode: Indexd/|a value outside the enum" \
	"s/^\( *\)claimName: atsrecon-state/\1claimName: atsrecon-state\n\1readOnlyy: true/|an unknown field deep in a volume"; do
	IFS='|' read -r expr what <<<"$bad"
	if ! sed "$expr" "$T_TMP/k8s-multi-tenant.yaml" >"$T_TMP/kbad.yaml" || cmp -s "$T_TMP/k8s-multi-tenant.yaml" "$T_TMP/kbad.yaml"; then
		not_ok "broken copy ($what) was not made"
	elif validate "$T_TMP/kbad.yaml"; then
		not_ok "validation passes $what"
	else
		ok "validation fails on $what: $(grep -m1 -E 'schema:|strict:' "$T_TMP/validate.out" | cut -c1-150)"
	fi
done
checks_from "k8s requirements" < <(node "$T_TMP/k8s.cjs" require "$T_TMP/k8s-base.yaml" "$K/secret.example.yaml" "$UID_IMG" "$VERSION")
checks_from "k8s multi-tenant requirements" < <(node "$T_TMP/k8s.cjs" require "$T_TMP/k8s-multi-tenant.yaml" "$K/multi-tenant/secret.example.yaml" \
	"$UID_IMG" "$VERSION" multi | sed 's/^PASS /PASS multi-tenant: /; s/^FAIL /FAIL multi-tenant: /')

# The pod's view, on this machine: /etc/atsrecon, /run/secrets/atsrecon and
# /var/lib/atsrecon become directories under $T_TMP/pod, with the ConfigMap's
# data and the example Secret's keys as files (as the volumes would show them).
pod_paths() { sed -e "s#/etc/atsrecon#$2/etc/atsrecon#g" -e "s#/run/secrets/atsrecon#$2/secrets#g" \
	-e "s#/var/lib/atsrecon#$2/state#g" "$1"; }
P1="$T_TMP/pod1"
mkdir -p "$P1/etc/atsrecon" "$P1/state"
keys=$(node "$T_TMP/k8s.cjs" configmap "$T_TMP/k8s-base.yaml" atsrecon-config "$T_TMP/cm1")
node "$T_TMP/k8s.cjs" secret "$K/secret.example.yaml" "$P1/secrets" >/dev/null
for k in $keys; do pod_paths "$T_TMP/cm1/$k" "$P1" >"$P1/etc/atsrecon/$k"; done
expect_rc 0 "atsrecon check accepts the ConfigMap's config, its *_file keys naming the Secret's keys" \
	"$ATSRECON" check -c "$P1/etc/atsrecon/atsrecon.jsonc"
check "... and its state is the PVC's mount" out_has "state.dir = \"$P1/state\""

# Run the CronJob's args against the fakes: the environment points the config
# at them (URLs, client ids), the Secret's files get the fakes' secrets. First
# keap-auth-job.yaml's args, with the bootstrap Secret's file in place.
printf 'atsrecon-test-secret\n' >"$P1/secrets/keap_client_secret"
printf 'gh-secret\n' >"$P1/secrets/greenhouse_client_secret"
fake_env=(ATSRECON_ATS_BASE_URL="$GU/v3" ATSRECON_ATS_AUTH_URL="$GU/auth" ATSRECON_ATS_CLIENT_ID=gh-client
	ATSRECON_KEAP_BASE_URL="$KU/crm/rest" ATSRECON_KEAP_TOKEN_URL="$KU/token"
	ATSRECON_KEAP_CLIENT_ID=atsrecon-test-client ATSRECON_HTTP_CA_FILE="$CA")
pod_args() {	# pod_args MANIFEST POD: the container's args as the pod would run them
	node "$T_TMP/k8s.cjs" args "$1" | sed -e "s#/etc/atsrecon#$2/etc/atsrecon#g" \
		-e "s#/run/secrets/atsrecon-bootstrap#$2/bootstrap#g"
}
mkdir -p "$P1/bootstrap"
new_refresh_token >"$P1/bootstrap/refresh_token"
mapfile -t auth_args < <(pod_args "$K/keap-auth-job.yaml" "$P1")
expect_rc 0 "keap-auth-job.yaml's args store the Keap token in the pod's state" \
	env "${fake_env[@]}" "$ATSRECON" "${auth_args[@]}"
mapfile -t cj_args < <(pod_args "$T_TMP/k8s-base.yaml" "$P1")
expect_rc 0 "the CronJob's args run against the fakes (${cj_args[*]##*/})" env "${fake_env[@]}" "$ATSRECON" "${cj_args[@]}"
check "... leaving the state and its reports on the volume" test -f "$P1/state/data.mdb" -a -d "$P1/state/reports"

# Multi-tenant: every index picks its own tenant config and state directory.
P2="$T_TMP/pod2"
mkdir -p "$P2/etc/atsrecon/tenants" "$P2/state"
keys=$(node "$T_TMP/k8s.cjs" configmap "$T_TMP/k8s-multi-tenant.yaml" atsrecon-tenants "$T_TMP/cm2")
node "$T_TMP/k8s.cjs" secret "$K/multi-tenant/secret.example.yaml" "$P2/secrets" >/dev/null
for k in $keys; do pod_paths "$T_TMP/cm2/$k" "$P2" >"$P2/etc/atsrecon/tenants/$k"; done
n=0
dirs=""
for k in $keys; do
	expect_rc 0 "JOB_COMPLETION_INDEX=$n: atsrecon check --config-dir picks $k" \
		env JOB_COMPLETION_INDEX=$n "$ATSRECON" check --config-dir "$P2/etc/atsrecon/tenants"
	check "... whose config file is $k" out_has "effective configuration of $P2/etc/atsrecon/tenants/$k"
	dirs="$dirs $(sed -n 's/^state.dir = "\([^"]*\)".*/\1/p' "$T_TMP/out")"
	n=$((n + 1))
done
check "each tenant has its own state directory on the volume:$dirs" \
	bash -c "[ \$(printf '%s\n' $dirs | sort -u | grep -c '^$P2/state/') = $n ]"
expect_rc 3 "JOB_COMPLETION_INDEX=$n (one past the last tenant) is a configuration error" \
	env JOB_COMPLETION_INDEX=$n "$ATSRECON" check --config-dir "$P2/etc/atsrecon/tenants"
# tenant 0 (Greenhouse) for real, through the Indexed Job's args
printf 'atsrecon-test-secret\n' >"$P2/secrets/acme.keap_client_secret"
printf 'gh-secret\n' >"$P2/secrets/acme.greenhouse_client_secret"
mapfile -t mt_args < <(pod_args "$T_TMP/k8s-multi-tenant.yaml" "$P2")
acme_dir=$(echo $dirs | cut -d' ' -f1)
expect_rc 0 "tenant 0: token bootstrap" env JOB_COMPLETION_INDEX=0 "${fake_env[@]}" "$ATSRECON" auth keap \
	--config-dir "$P2/etc/atsrecon/tenants" --refresh-token "$(new_refresh_token)"
expect_rc 0 "the Indexed Job's args run tenant 0 against the fakes" \
	env JOB_COMPLETION_INDEX=0 "${fake_env[@]}" "$ATSRECON" "${mt_args[@]}"
check "... in tenant 0's state directory ($acme_dir)" test -f "$acme_dir/data.mdb"

# ================================================================ Lambda
L="$D/lambda/template.yaml"
if command -v cfn-lint >/dev/null; then
	if cfn-lint "$L" >"$T_TMP/cfn.out" 2>&1; then
		ok "cfn-lint $(cfn-lint --version 2>/dev/null | awk '{ print $2 }'): template.yaml clean"
	else
		not_ok "cfn-lint template.yaml"
		sed 's/^/    /' "$T_TMP/cfn.out" | head -10
	fi
else
	note "cfn-lint not installed (neither Debian nor npm ships it): AWS's resource specification check only"
fi
if node "$T_TMP/sam.cjs" spec "$L" >"$T_TMP/sam.out" 2>&1; then
	ok "SAM template against AWS's resource specification: $(tail -n1 "$T_TMP/sam.out")"
else
	not_ok "SAM template against AWS's resource specification"
	sed 's/^/    /' "$T_TMP/sam.out" | head -10
fi
nbad=0
for bad in "s/^      MemorySize: 256/      MemorySise: 256/|a misspelt property" \
	"s/SSEAlgorithm: AES256/SSEAlgorithm: [AES256]/|a list for a string" \
	"s/^\(        Status: Enabled\)/\1\n        MFADelet: Enabled/|an unknown property deep in the bucket" \
	"s/- !GetAtt StateBucket.Arn/- !GetAtt StateBuckett.Arn/|a GetAtt of a missing resource"; do
	IFS='|' read -r expr what <<<"$bad"
	if ! sed "$expr" "$L" >"$T_TMP/tbad.yaml" || cmp -s "$L" "$T_TMP/tbad.yaml"; then
		not_ok "broken template ($what) was not made"
		continue
	fi
	if node "$T_TMP/sam.cjs" spec "$T_TMP/tbad.yaml" >"$T_TMP/sam.out" 2>&1; then
		not_ok "the specification check passes $what"
	else
		ok "the specification check fails on $what: $(head -n1 "$T_TMP/sam.out" | cut -c1-120)"
	fi
	# cfn-lint takes 2-3 s a file: the first two broken copies are enough for it
	if command -v cfn-lint >/dev/null && [ "$((nbad += 1))" -le 2 ]; then
		check "cfn-lint fails on $what" bash -c "! cfn-lint '$T_TMP/tbad.yaml' >/dev/null 2>&1"
	fi
done
checks_from "SAM requirements" < <(node "$T_TMP/sam.cjs" require "$L" "$TOP")
# The function's environment, as the binary sees it (the *_SSM names are for the
# Lambda secrets reader, which is not in this build yet).
lenv=()
unknown=""
while IFS= read -r kv; do
	case "$kv" in
	ATSRECON_CONFIG=*) ;;	# inside the zip
	*_SSM=* | PARAMETERS_SECRETS_*) unknown="$unknown ${kv%%=*}" ;;
	*) lenv+=("$kv") ;;
	esac
done < <(node "$T_TMP/sam.cjs" env "$L")
host_config "$T_TMP/etc/lambda.jsonc" "$T_TMP/state-lambda"
expect_rc 0 "atsrecon accepts the function's environment (${lenv[*]%%=*})" \
	env "${lenv[@]}" "$ATSRECON" check -c "$T_TMP/etc/lambda.jsonc"
check "... state.url from ATSRECON_STATE_URL" out_has 'state.url = "s3://atsrecon-statebucket-example/atsrecon"'
check "... run.max_runtime from ATSRECON_RUN_MAX_RUNTIME" out_has "ATSRECON_RUN_MAX_RUNTIME"
check "... no unknown ATSRECON_ variable among them" bash -c "! grep -q 'unknown environment variable' '$T_TMP/err'"
note "for the Lambda secrets reader (not in this build yet):$unknown"

t_done
