#!/bin/sh
# The optimize report a reviewer reads, from runs against build/dsp-refserver
# (a TEST FIXTURE): the plot has axis titles and a legend, the trials table
# has tokens and cost per trial, every instruction candidate and every chosen
# demo is there in full, the enum output has per-class scores and a
# confusion matrix, and a multi-predictor program gets one section per
# predictor. Headless Chromium (Debian's chromium, which scripts/setup.sh
# installs) renders the page: no console error or failed load, the plot laid
# out at its size with every trial's point inside it, axis titles and legend
# drawn, every table laid out, and a screenshot that is not blank; where no
# browser is installed, that part says SKIP. Prints TAP.
set -u
: "${BUILD:=build}"
here=$(pwd)
case "$BUILD" in
    /*) bin=$BUILD ;;
    *) bin=$here/$BUILD ;;
esac
dspcc="$bin/dspcc"
tmp=$(mktemp -d)
. tests/support/tap.sh
. tests/support/refserver.sh
trap 'rs_stop; rm -rf "$tmp"' EXIT INT TERM
export OPENAI_API_KEY=sk-test-not-a-key
unset DSPCC_BASE_URL
rs_start --seed 7
url="http://127.0.0.1:$port/v1"

mkdir -p "$tmp/t"
ln -s "$here/examples/tickets/data" "$tmp/t/data"
sed 's/  api_key_env: "OPENAI_API_KEY"/  api_key_env: "OPENAI_API_KEY"\n  input_usd_per_mtok: 0.15\n  output_usd_per_mtok: 0.6/' \
    examples/tickets/tickets.dsp >"$tmp/t/tickets.dsp"
"$dspcc" optimize "$tmp/t/tickets.dsp" --trainset-limit 20 --valset-limit 20 -q --base-url "$url" \
    --cache-dir "$tmp/c" -o "$tmp/t.json" --report "$tmp/t.html" >"$tmp/t.out" 2>&1
check "optimize --report exits 0" test $? -eq 0
h="$tmp/t.html"
check "the plot's y axis is titled with the metric" grep -q 'rotate(-90[^>]*>score: mean accuracy</text>' "$h"
check "the plot's x axis is titled" grep -q '>trial (1 to [0-9]*)</text>' "$h"
check "the plot has a legend" sh -c "grep -q 'class=\"legend\"' '$h' && grep -q '>minibatch</text>' '$h' && grep -q '>best so far</text>' '$h'"
check "the trials table has tokens and cost per trial" \
    sh -c "grep -q '<th>prompt tokens</th><th>completion tokens</th><th>cost</th>' '$h' && grep -qE '<td class=\"n\">\\\$0\\.[0-9]{4}</td>' '$h'"
check "the run's cost is shown" grep -q '<th>cost</th><td>\$' "$h"
ncand=$(sed -n 's/.*<h4>Instruction candidates (\([0-9]*\))<\/h4>.*/\1/p' "$h")
check "every instruction candidate is listed in full ($ncand)" \
    sh -c "test -n '$ncand' && test \$(sed -n '/Instruction candidates/,/<\/ol>/p' '$h' | grep -c '<li><pre>') -eq $ncand"
check "the chosen demos are shown in full, field by field" \
    sh -c "grep -q '<h4>Demo 1 (' '$h' && grep -q '<pre>\[\[ ## ticket_text ## \]\]' '$h' && grep -q '^\[\[ ## category ## \]\]' '$h'"
check "per-class scores of the enum output" sh -c "grep -q '<h2>Per class: <code>category</code></h2>' '$h' && grep -q '<table class=\"classes\">' '$h'"
check "and its confusion matrix" sh -c "grep -q '<h3>Confusion matrix</h3>' '$h' && grep -q '<th>(failed)</th>' '$h'"
check "the optimize summary prints the per-class scores and the confusion matrix too" \
    sh -c "grep -q '^per class (\`category\`, 20 labelled examples' '$tmp/t.out' && grep -q '^confusion matrix' '$tmp/t.out'"
check "with the same accuracy as the report" test "$(sed -n 's/^per class .*accuracy \([0-9.]*\),.*/\1/p' "$tmp/t.out")" = \
    "$(sed -n 's/.*accuracy \([0-9.]*\).*/\1/p' "$h" | head -n 1)"
# Two warm re-runs (the cold run's page differs only in its HTTP request count).
for k in 2 3; do
    "$dspcc" optimize "$tmp/t/tickets.dsp" --trainset-limit 20 --valset-limit 20 -q --base-url "$url" \
        --cache-dir "$tmp/c" -o "$tmp/t$k.json" --report "$tmp/t$k.html" >/dev/null 2>&1
done
check "warm re-runs write the same report, tokens and costs included" cmp -s "$tmp/t2.html" "$tmp/t3.html"
check "and the cold run's tokens and cost rows are the warm run's" \
    test "$(grep -E '<th>(tokens|cost)</th>|<td class="n">\$' "$h" | md5sum)" = "$(grep -E '<th>(tokens|cost)</th>|<td class="n">\$' "$tmp/t2.html" | md5sum)"
check "without --report-times the page has no wall time" sh -c "! grep -q '<th>seconds</th>' '$h'"
"$dspcc" optimize "$tmp/t/tickets.dsp" --trainset-limit 20 --valset-limit 20 -q --base-url "$url" \
    --cache-dir "$tmp/c" -o "$tmp/tt.json" --report "$tmp/tt.html" --report-times >/dev/null 2>&1
ntr=$(grep -c '^<tr><td class="n">[0-9]*</td><td class="n">[0-9.]*</td>' "$tmp/tt.html")
check "--report-times: a seconds column with each trial's wall time ($ntr trials)" \
    sh -c "grep -q '<th>cost</th><th>seconds</th>' '$tmp/tt.html' &&
        test \$(grep -cE '<td class=\"n\">\\\$[0-9.]+</td><td>[0-9]+\\.[0-9][0-9]</td>' '$tmp/tt.html') -eq $ntr && test $ntr -gt 0"
check "--report-times: and the run's wall time" grep -qE 'the run took [0-9]+\.[0-9] s' "$tmp/tt.html"

"$dspcc" optimize examples/multihop/multihop.dsp --trainset-limit 8 --valset-limit 8 -q --base-url "$url" \
    --cache-dir "$tmp/c" -o "$tmp/m.json" --report "$tmp/m.html" >"$tmp/m.out" 2>&1
check "multihop: one section per predictor" test "$(grep -c '<section class="predictor">' "$tmp/m.html")" -eq 3
check "multihop: no per-class section (its output is a string)" sh -c "! grep -q 'Per class' '$tmp/m.html' && ! grep -q '^per class' '$tmp/m.out'"
check "multihop: cost unknown without prices" grep -q '<th>cost</th><td>unknown' "$tmp/m.html"

browser=
for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then browser=$b; break; fi
done
if [ -z "$browser" ]; then
    echo "ok - # SKIP headless Chromium is not installed (scripts/setup.sh installs Debian's chromium); the page was checked as text only"
else
    flags="--headless --no-sandbox --disable-gpu --disable-background-networking --disable-extensions --no-first-run"
    timeout 60 "$browser" $flags --enable-logging=stderr --v=0 --dump-dom "file://$h" >"$tmp/dom.html" 2>"$tmp/browser.err"
    check "$browser renders the report (the DOM has the title, plot and tables)" \
        sh -c "grep -q '<svg' '$tmp/dom.html' && grep -q 'Confusion matrix' '$tmp/dom.html' && grep -q 'Trials' '$tmp/dom.html'"
    check "and logs no page error (console errors, failed loads)" \
        sh -c "! grep -E 'CONSOLE|Uncaught|Failed to load|ERR_FILE_NOT_FOUND' '$tmp/browser.err'"
    # Layout as the browser computed it: a page beside the report loads it
    # in a frame, measures it and writes what it found into its own DOM.
    ntrials=$(grep -o '<circle [^>]*><title>trial ' "$h" | wc -l)
    ncircles=$(grep -o '<circle ' "$h" | wc -l) # the trials' points and the legend's
    cat >"$tmp/measure.html" <<HTML
<!DOCTYPE html><html><body>
<iframe id="f" src="file://$h" style="width:1000px;height:4000px"></iframe>
<script>
document.getElementById('f').onload = function () {
  var d = this.contentDocument, out = [];
  var svg = d.querySelector('svg'), r = svg.getBoundingClientRect();
  out.push('plot ' + (r.width >= 300 && r.height >= 150 ? 'sized' : 'tiny ' + r.width + 'x' + r.height));
  var dots = svg.querySelectorAll('circle title').length, inside = 0;
  svg.querySelectorAll('circle').forEach(function (c) {
    var b = c.getBoundingClientRect();
    if (b.width > 0 && b.left >= r.left && b.right <= r.right && b.top >= r.top && b.bottom <= r.bottom) inside++;
  });
  out.push('points ' + dots + ' drawn ' + inside);
  var labels = 0;
  svg.querySelectorAll('text').forEach(function (t) { if (t.getBBox().width > 0) labels++; });
  out.push('labels ' + (labels >= 4 ? 'drawn' : 'missing ' + labels));
  var tables = d.querySelectorAll('table'), shown = 0;
  tables.forEach(function (t) { var b = t.getBoundingClientRect(); if (b.width > 0 && b.height > 0) shown++; });
  out.push('tables ' + tables.length + ' shown ' + shown);
  out.push('text ' + (d.body.innerText.length > 2000 ? 'long' : 'short'));
  var p = document.createElement('pre'); p.id = 'measured'; p.textContent = out.join('\\n');
  document.body.appendChild(p);
};
</script></body></html>
HTML
    timeout 60 "$browser" $flags --allow-file-access-from-files --virtual-time-budget=10000 --dump-dom \
        "file://$tmp/measure.html" >"$tmp/measured.html" 2>>"$tmp/browser.err"
    m=$(sed -n '/<pre id="measured">/,/<\/pre>/p' "$tmp/measured.html")
    check "the plot is laid out at its size" sh -c "echo '$m' | grep -q '^.*plot sized'"
    ndrawn=$(echo "$m" | sed -n 's/.*points \([0-9]*\) drawn \([0-9]*\).*/\1 \2/p')
    check "every trial's point ($ntrials) and the legend's are drawn inside the plot (points, drawn: $ndrawn)" \
        sh -c "test '$ndrawn' = '$ntrials $ncircles' && test $ntrials -gt 0"
    check "the axis titles and legend are drawn" sh -c "echo '$m' | grep -q 'labels drawn'"
    ntab=$(grep -c '<table' "$h")
    check "all $ntab tables are laid out with a size" sh -c "echo '$m' | grep -q 'tables $ntab shown $ntab'"
    timeout 60 "$browser" $flags --window-size=1000,2400 --screenshot="$tmp/shot.png" "file://$h" >/dev/null 2>&1
    size=$(wc -c <"$tmp/shot.png" 2>/dev/null || echo 0)
    # A blank page compresses to a few KB; this one has text, tables and a plot.
    check "the screenshot is not a blank page ($size bytes)" test "$size" -gt 20000
fi
