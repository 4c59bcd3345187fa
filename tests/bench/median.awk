# SPDX-License-Identifier: Apache-2.0
# The median of a space-separated list of numbers; shared by the
# benchmark scripts' report programs (awk -f median.awk -f report).
function median(list,    n, v, i, j, t) {
	n = split(list, v, " ")
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) {
			t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
		}
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}

# The smallest and the largest number of such a list.
function list_min(list,    n, v, i, m) {
	n = split(list, v, " ")
	for (i = 1; i <= n; i++)
		if (i == 1 || v[i] + 0 < m)
			m = v[i] + 0
	return m
}
function list_max(list,    n, v, i, m) {
	n = split(list, v, " ")
	for (i = 1; i <= n; i++)
		if (i == 1 || v[i] + 0 > m)
			m = v[i] + 0
	return m
}

# A cost with three significant figures or so: 0.912, 12.3, 262.
function sig3(x) {
	return x < 10 ? sprintf("%.2f", x) : x < 100 ? sprintf("%.1f", x) : sprintf("%.0f", x)
}

# "median [min-max]" of a list, each with sig3().
function med_range(list) {
	return sprintf("%s [%s-%s]", sig3(median(list)), sig3(list_min(list)), sig3(list_max(list)))
}
