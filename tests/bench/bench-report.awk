# SPDX-License-Identifier: Apache-2.0
# The table of tests/bench/bench.sh (awk -f median.awk -f bench-report.awk):
# input lines are "DAEMON ROUND WORKLOAD key=value...", as loadgen prints
# them after the daemon's name and the round.  Per workload and depth:
# the daemon's CPU time per request, median [min-max] over the rounds, for
# objfsd and virtiofsd; their ratio, median [min-max] of the per-round
# ratios, and how far those stray from the median; context switches per
# request; throughput (ops/s, MB/s for the 1 MiB cases) and its ratio.
{
	key = $3 " " substr($4, 7)
	delete f
	for (i = 4; i <= NF; i++) {
		eq = index($i, "=")
		f[substr($i, 1, eq - 1)] = substr($i, eq + 1)
	}
	mb = ($3 == "seqread" || $3 == "seqwrite")
	if (!(key in seen)) { seen[key] = 1; order[++n] = key; unit[key] = mb ? "MB/s" : "ops/s" }
	t = mb ? f["MB/s"] : f["ops/s"]
	tput[$1, key] = tput[$1, key] " " t
	if (f["cpu_us/req"] == "")
		next
	cpu[$1, key] = cpu[$1, key] " " f["cpu_us/req"]
	csw[$1, key] = csw[$1, key] " " f["csw/req"]
	opr[$1, key] = opr[$1, key] " " f["ops/req"]
	cpur[$1, key, $2] = f["cpu_us/req"]
	if ($1 == "objfsd")
		rounds[key] = rounds[key] " " $2
}

# The per-round ratios objfsd/virtiofsd of key's CPU per request.
function ratios(key,    n, r, i, out) {
	n = split(rounds[key], r, " ")
	out = ""
	for (i = 1; i <= n; i++)
		if ((("virtiofsd", key, r[i]) in cpur) && cpur["virtiofsd", key, r[i]] > 0)
			out = out " " cpur["objfsd", key, r[i]] / cpur["virtiofsd", key, r[i]]
	return out
}

function cost(name, key) {
	return cpu[name, key] == "" ? "-" : med_range(cpu[name, key])
}

function csws(key,    a, b) {
	a = cpu["objfsd", key] == "" ? "-" : sprintf("%.3f", median(csw["objfsd", key]))
	b = cpu["virtiofsd", key] == "" ? "-" : sprintf("%.3f", median(csw["virtiofsd", key]))
	return a " / " b
}

function throughput(key,    a, b) {
	a = median(tput["objfsd", key])
	if (tput["virtiofsd", key] == "")
		return sprintf("%.0f %s", a, unit[key])
	b = median(tput["virtiofsd", key])
	return sprintf("%.0f / %.0f %s (%s)", a, b, unit[key], b > 0 ? sprintf("%.2f", a / b) : "-")
}

END {
	printf "\nCPU time of the daemon per request, us (user + system, its threads and children): median [min-max]\n"
	printf "ratio objfsd/virtiofsd: median [min-max] of the per-round ratios, and their spread around the median\n\n"
	printf "%-11s %5s  %-22s %-22s %-19s %-12s %-15s %s\n", "workload", "depth", "objfsd us/req",
	    "virtiofsd us/req", "ratio", "spread", "csw/req o / v", "throughput o / v (ratio)"
	logsum = 0; nr = 0; worst = 0
	for (i = 1; i <= n; i++) {
		k = order[i]; split(k, w, " ")
		rl = ratios(k); rs = "-"; sp = "-"
		if (rl != "") {
			m = median(rl)
			rs = sprintf("%.2f [%.2f-%.2f]", m, list_min(rl), list_max(rl))
			sp = sprintf("-%.0f%%/+%.0f%%", 100 * (1 - list_min(rl) / m), 100 * (list_max(rl) / m - 1))
			logsum += log(m); nr++
			d = list_max(rl) / m - 1 > 1 - list_min(rl) / m ? list_max(rl) / m - 1 : 1 - list_min(rl) / m
			if (d > worst) { worst = d; worstk = k }
		}
		printf "%-11s %5s  %-22s %-22s %-19s %-12s %-15s %s\n", w[1], w[2], cost("objfsd", k),
		    cost("virtiofsd", k), rs, sp, csws(k), throughput(k)
	}
	if (nr > 0)
		printf "\nCPU per request objfsd/virtiofsd, geometric mean of the medians: %.2f;" \
		    " widest spread of a ratio around its median: %.0f%% (%s)\n", exp(logsum / nr), 100 * worst, worstk
	for (i = 1; i <= n; i++) {
		k = order[i]
		if (k !~ /^readdirplus/ || cpu["objfsd", k] == "")
			continue
		printf "%s: entries per request objfsd %.1f", k, median(opr["objfsd", k])
		if (cpu["virtiofsd", k] != "")
			printf ", virtiofsd %.1f", median(opr["virtiofsd", k])
		printf " (READDIRPLUS pages of 4 KiB; OPENDIR, RELEASEDIR and FORGET batches count as requests)\n"
	}
}
