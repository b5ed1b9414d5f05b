#!/bin/sh
# Regenerates the seed corpora in tests/fuzz/corpus/<target>/ from the
# fixtures and from `healer simulate` output trimmed small (a few KB each),
# with the selector byte each target reads first (see the targets'
# comments). Run from the repository root after `make build/healer`; the
# seeds are committed, so this is only needed when a format changes.
# Regression inputs (crashes found and fixed) live beside the seeds under
# names starting with "regress-" and are kept by this script.
set -e
cd "$(dirname "$0")/../.."
H=build/healer
C=tests/fuzz/corpus
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# seed TARGET NAME SELECTOR-BYTE(octal, "" for none) FILE [LINES]
seed() {
    out=$C/$1/$2
    { [ -n "$3" ] && printf "\\$3"; if [ -n "$5" ]; then head -n "$5" "$4"; else cat "$4"; fi; } >"$out"
}
for t in csv model topology incidents json_body multipart; do
    mkdir -p "$C/$t"
    find "$C/$t" -type f ! -name 'regress-*' -delete
done

# ---- samples (csv) ----
$H simulate --out "$tmp/s.csv" --samples 40 --features 5 --classes 3 --string-labels --seed 1 >/dev/null
$H simulate --out "$tmp/n.csv" --samples 40 --features 4 --classes 3 --missing-rate 0.2 --seed 2 >/dev/null
seed csv sim_memory 000 "$tmp/s.csv" 12
seed csv sim_file 040 "$tmp/n.csv" 10
seed csv sim_round_trip 140 "$tmp/s.csv" 12
seed csv sim_keep_unlabelled 142 "$tmp/n.csv" 8
seed csv sim_small_limits 010 "$tmp/s.csv" 6
seed csv v1_binary 000 tests/fixtures/model_v1/v1_binary.csv 8
printf 'label,name,description,action\nnormal,Normal,"all fine",\ndisk_full,"Disk, full","the ""data"" disk",clean up\n' >"$tmp/names.csv"
seed csv table_class_names 100 "$tmp/names.csv"
printf '\357\273\277sample_id,"a ""q""",b,label\r\n"s\n1", 1.5e3 ,NA,01\r\ns2,-0,null,+1\r\n\r\ns3,,"7",\r\n' >"$tmp/q.csv"
seed csv quoting_bom_crlf 142 "$tmp/q.csv"
printf 'node,x,label\napi,1,a\ndb,2,b\n' >"$tmp/t.csv"
seed csv text_column 004 "$tmp/t.csv"

# ---- topologies and incidents ----
$H simulate --topology-shape microservices --nodes 8 --out "$tmp/topo.json" --seed 3 >/dev/null
$H simulate --topology-shape tree --nodes 6 --out "$tmp/tree.json" --seed 4 >/dev/null
seed topology micro_json 000 "$tmp/topo.json"
seed topology tree_json_limit 007 "$tmp/tree.json"
printf 'from,to\napi,db\napi,cache\n"we,ird",db\ncache,db\n' >"$tmp/edges.csv"
seed topology edges_csv 000 "$tmp/edges.csv"
printf '{"nodes":[{"id":"a","kind":"k"},{"id":"b"}],"edges":[{"from":"a","to":"b","bidirectional":true},{"from":"b","to":"a"}]}' >"$tmp/bi.json"
seed topology bidirectional 000 "$tmp/bi.json"
printf 'from,to\nn0,n1\nn1,n2\nn2,n3\n' >"$tmp/chain.csv"
$H simulate --topology "$tmp/chain.csv" --incidents 3 --rows-per-node 2 --features 4 --out "$tmp/inc.csv" --truth "$tmp/truth.csv" --seed 5 >/dev/null
$H simulate --topology "$tmp/chain.csv" --incidents 2 --rows-per-node 1 --features 4 --iso-time --out "$tmp/iso.csv" --truth "$tmp/truth2.csv" --seed 6 >/dev/null
seed incidents sim_topology 001 "$tmp/inc.csv" 14
seed incidents sim_no_topology 000 "$tmp/inc.csv" 14
seed incidents sim_iso_time 001 "$tmp/iso.csv"
printf 'timestamp,node,incident_id,cpu,mem\n2026-12-07T04:34:18.25+02:00,api,i1,1,2\n2026-12-07 04:34:19Z,db,i1,NA,3\n1700000000,cache,"i,2",5,\n' >"$tmp/mixed.csv"
seed incidents mixed_times 001 "$tmp/mixed.csv"
seed incidents mixed_small_limits 002 "$tmp/mixed.csv"
seed csv incidents_text_columns 000 "$tmp/inc.csv" 6

# ---- JSON bodies: the selector byte is the index of the route among the
# routes with a JSON body, in the order of src/service/http/routes.c, and
# that count selects hs_train_params_from_json alone (tests/fuzz/json_body.c).
# The records the bodies name are those json_body makes at start (id 1;
# dataset 2 is an incident file).
routes=$(grep -c 'JSON}\|JSON | FORM}\|| JSON},' src/service/http/routes.c)
js() { # js NAME ROUTE-INDEX BODY
    printf "\\$(printf '%03o' "$2")%s" "$3" >"$C/json_body/$1"
}
js setup 0 '{"token": "abc", "username": "root", "password": "long enough 1", "remember": true}'
js login 1 '{"username": "admin", "password": "wrong password", "remember": false}'
js prefs 2 '{"preferences": {"language": "zh-CN", "theme": "dark", "layout": {"model": {"order": ["a", "b"], "hidden": []}}}}'
js user_create 3 '{"username": "bob.x-1", "password": "long enough 2", "is_admin": false, "email": "bob@example.org"}'
js user_password 4 '{"password": "another long one"}'
js job_train 5 '{"type": "train", "dataset_id": 1, "name": "m", "algo": "gbdt", "params": {"rounds": 5, "learning_rate": 0.1, "cv_folds": 0, "class_names": {"normal": {"name": "OK"}}}}'
js job_pipeline 5 '{"type": "pipeline", "dataset_id": 1, "diagnose_dataset_id": 1, "params": {"rounds": 30, "early_stopping_rounds": 10, "validation_fraction": 0.2}}'
js job_retrain 5 '{"type": "retrain", "model_id": 1, "feedback": {"diagnosis_ids": [1], "weight": 10}}'
js job_rca 5 '{"type": "rca", "model_id": 1, "topology_id": 1, "dataset_id": 2, "params": {"skew": 30, "hop_delay": 5}}'
js job_forest 5 '{"type": "train", "dataset_id": 1, "algo": "forest", "params": {"trees": 3, "max_features": "sqrt", "bootstrap": true}}'
js leaderboard 6 '{"dataset_id": 1, "model_ids": [1]}'
js class_names 7 '{"class_names": {"normal": {"name": "Normal", "description": "all fine", "action": ""}, "disk_full": {"name": "Disk"}}}'
js diagnose_rows 8 '{"model_id": 1, "name": "x", "store": false, "adapt": true, "rows": [{"feature0": 1.5, "feature1": null, "sample_id": "a", "label": "normal"}, {"feature2": -3, "feature3": 1e30, "sample_id": 7}]}'
js labels 9 '{"labels": [{"row": 1, "label": "normal"}, {"row": 2, "label": null}]}'
js train_params "$routes" '{"algo": "mlp", "hidden_units": 8, "dropout": 0.1, "transform": "quantile", "seed": 3, "threads": 1}'

# ---- multipart uploads: first line = the Content-Type's parameters after
# "multipart/form-data", then the body (tests/fuzz/multipart.c; the body
# is a printf %b string) ----
mp() { # mp NAME PARAMS BODY(printf format)
    { printf '%s\n' "$2"; printf '%b' "$3"; } >"$C/multipart/$1"
}
mp file_and_field '; boundary=XyZ' '--XyZ\r\nContent-Disposition: form-data; name="name"\r\n\r\nmy data\r\n--XyZ\r\nContent-Disposition: form-data; name="file"; filename="../a\\"b.csv"\r\nContent-Type: text/csv\r\n\r\nf1,f2,label\r\n1,2,a\r\n--XyZ--\r\n'
mp quoted_boundary '; charset=utf-8; boundary="a b:c"' '--a b:c\r\nContent-Disposition: form-data; name="file"; filename="x.csv"\r\n\r\nf1,label\n1,a\n--a b:c--\r\n'
mp two_files '; boundary=BB' '--BB\r\nContent-Disposition: form-data; name="file"; filename="1"\r\n\r\nfirst\r\n--BB\r\nContent-Disposition: form-data; name="file"; filename="2"\r\n\r\nsecond\r\n--BB--\r\n'
mp many_fields '; boundary=BB' '--BB\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--BB\r\nContent-Disposition: form-data; name="b"\r\n\r\n2\r\n--BB\r\nContent-Disposition: form-data; name="a"\r\n\r\n3\r\n--BB\r\nContent-Disposition: form-data; name="adapt"\r\n\r\ntrue\r\n--BB\r\nContent-Disposition: form-data; name="model_id"\r\n\r\n1\r\n--BB--\r\n'
mp no_end '; boundary=BB' '--BB\r\nContent-Disposition: form-data; name="file"; filename="t.csv"\r\n\r\nf1,label\n1,a\n'
mp no_boundary '' '--BB\r\nContent-Disposition: form-data; name="file"\r\n\r\nx\r\n--BB--\r\n'
mp transfer_encoding '; boundary=BB' '--BB\r\nContent-Disposition: form-data; name="file"; filename="t"\r\nContent-Transfer-Encoding: binary\r\n\r\n\0000\0001\0002\r\n--BB--\r\n'

# ---- model files (no selector byte: the file itself) ----
$H simulate --out "$tmp/m.csv" --samples 60 --features 4 --classes 3 --seed 7 >/dev/null
train() {
    name=$1
    shift
    $H train --data "$tmp/m.csv" --model "$C/model/$name" --threads 1 --no-retry "$@" >/dev/null
}
train gbdt --algo gbdt --rounds 3 --max-depth 2 --early-stopping-rounds 0
train gbdt_screen_families --algo gbdt --rounds 2 --max-depth 2 --early-stopping-rounds 0 --screen-kpis 0.01 --families 0.8
train forest --algo forest --trees 2 --max-depth 3
train extratrees --algo extratrees --trees 2 --max-depth 3
train mlp --algo mlp --hidden-units 4 --hidden-layers 1 --epochs 2
train stack --algo stack --members forest+extratrees --member-trees 2 --stack-folds 2
cp tests/fixtures/model_v1/v1_binary.model "$C/model/v1_binary"
ls -l "$C"/* | awk '$5 > 16384 {print "large seed:", $0}'
