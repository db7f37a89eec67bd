# The external commands a shell script (or a Makefile's recipes) calls:
# every word in command position, one "FILE:LINE COMMAND" a line.  A word
# is in command position at the start of a line and after | || && ; ( {
# $( ` =( and the keywords and wrappers that take a command (if, then,
# timeout SECONDS, xargs -0, ...).  Here-documents, comments, quoted text,
# case patterns, assignments and redirections are skipped.  It is a lexer,
# not a shell: good enough to notice a new tool, which is what
# vm/deps.sh lint needs.
#
#   awk -f vm/deps-lint.awk [-v make=1] FILE...
BEGIN {
	split("if then else elif do while until ! { ( time exec command builtin", a, " ")
	for (i in a) leads[a[i]] = 1
	split("fi done esac } in for select", a, " ")
	for (i in a) ends[a[i]] = 1
	# wrappers (run: bats's): their options and assignments are skipped,
	# then a command
	split("xargs env nice setsid stdbuf nohup run", a, " ")
	for (i in a) wraps[a[i]] = 1
	# wrappers with one positional argument before the command
	split("timeout flock chroot", a, " ")
	for (i in a) wraps1[a[i]] = 1
}
FNR == 1 && NR > 1 { scan_file(prev) }
FNR == 1 { text = ""; heredoc = ""; inrule = varcont = rulecont = 0; prev = FILENAME }
# a here-document's body is data (kept as an empty line: line numbers stay)
heredoc != "" { t = $0; sub(/^\t+/, "", t); if (t == heredoc) heredoc = ""; text = text "\n"; next }
{
	line = $0
	if (make) {
		# Makefile: only recipes are shell, the tab-led lines after a
		# rule (not the continuation lines of a variable)
		if (varcont || rulecont) {
			# the continuation of a variable or of a rule's prerequisites
			if (!(line ~ /\\$/)) varcont = rulecont = 0
			text = text "\n"; next
		}
		if (line !~ /^\t/) {
			inrule = line ~ /^[^#=]*[^:=]:([^=]|$)/
			varcont = !inrule && line ~ /\\$/
			rulecont = inrule && line ~ /\\$/
			text = text "\n"; next
		}
		if (!inrule) { text = text "\n"; next }
		sub(/^\t[@+-]*/, "", line)
		gsub(/\$\$/, "$", line)
		gsub(/\$\((MAKE|CC)\)/, "make", line)
		gsub(/\$\(call [^()]*\)/, ":", line)	# a macro: its own lines are checked
		gsub(/\$[({][A-Za-z_]+[)}]|\$[*@<^]/, "$X", line)	# make variables
	}
	if (match(line, /<<-?[ \t]*['"]?[A-Za-z_]+['"]?/)) {
		heredoc = substr(line, RSTART, RLENGTH)
		sub(/^<<-?[ \t]*['"]?/, "", heredoc); sub(/['"]$/, "", heredoc)
		line = substr(line, 1, RSTART - 1) substr(line, RSTART + RLENGTH)
	}
	text = text line "\n"
}
END { if (prev != "") scan_file(prev) }

function emit(w) {
	if (w ~ /^[A-Za-z_][A-Za-z0-9_.+-]*$/ || w ~ /^\/[A-Za-z0-9_\/.+-]+$/)
		print file ":" lineno " " w
}
# word ends: decide what it was
function word_done(w, c) {
	if (array) { if (c == ")") { array = 0; want = 0 }; return }
	if (w == "") return
	if (pattern && w != "esac") {
		# a case pattern, up to its ")"
		if (c == ")") { pattern = 0; want = 1; patend = 1 }
		return
	}
	if (w == "esac") { incase--; pattern = 0; want = 0; return }
	if (w == "case") { incase++; want = 0; casehead = 1; return }
	if (casehead) { if (w == "in") { casehead = 0; pattern = 1 }; return }
	if (!want) return
	if (w ~ /^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=/) {
		# an assignment; a command may follow it; =( opens an array: data
		if (w ~ /=$/ && c == "(") array = 1
		want = 1
		return
	}
	if (w in leads) { want = 1; return }
	if (w in ends) { want = 0; return }
	if (skipping != "") {
		# env -u NAME: the option's argument is a variable, not a command
		if (optarg) { optarg = 0; return }
		if (skipping == "env" && w == "-u") { optarg = 1; return }
		if (w ~ /^-/ || w ~ /^[A-Za-z_][A-Za-z0-9_]*=/) return
		if (skipping in wraps1) { skipping = skipping "/"; return }
		skipping = ""
		# a command named by a variable: nothing to check
		if (w ~ /^["$]/) { want = 0; return }
	}
	emit(w)
	if (w in wraps || w in wraps1) { skipping = w; want = 1; return }
	want = 0
}
function scan_file(f) {
	file = f; lineno = 1
	scan(text)
}
# the end of the $( ... ) that starts at i: its ")" (quotes and nested
# parentheses skipped)
function subst_end(s, i,    n, depth, c, q) {
	n = length(s); depth = 0
	for (; i <= n; i++) {
		c = substr(s, i, 1)
		if (c == "\\") { i++; continue }
		if (c == "'") { for (i++; i <= n && substr(s, i, 1) != "'"; i++) ; continue }
		if (c == "\"") {
			for (i++; i <= n && substr(s, i, 1) != "\""; i++) {
				if (substr(s, i, 1) == "\\") i++
				else if (substr(s, i, 2) == "$(") i = subst_end(s, i + 1)
			}
			continue
		}
		if (c == "(") depth++
		if (c == ")" && --depth == 0) return i
	}
	return n
}
# scan a command text; a $( ... ) inside double quotes is scanned on its
# own, with the state of the text around it kept
function scan(s,    n, i, c, w, q, depth, e, sv) {
	n = length(s)
	want = 1; w = ""; skipping = ""; optarg = 0; pattern = 0; incase = 0; casehead = 0; array = 0; patend = 0
	for (i = 1; i <= n; i++) {
		c = substr(s, i, 1)
		if (c == "'") {
			# quoted text is part of a word, never a command name
			w = w "\""
			for (i++; i <= n && substr(s, i, 1) != "'"; i++)
				if (substr(s, i, 1) == "\n") lineno++
			continue
		}
		if (c == "\"") {
			w = w "\""
			for (i++; i <= n && substr(s, i, 1) != "\""; i++) {
				if (substr(s, i, 1) == "\n") lineno++
				if (substr(s, i, 1) == "\\") i++
				else if (substr(s, i, 2) == "$(" && substr(s, i + 2, 1) != "(") {
					e = subst_end(s, i + 1)
					sv = want SUBSEP skipping SUBSEP pattern SUBSEP incase SUBSEP casehead SUBSEP array
					scan(substr(s, i + 2, e - i - 2))
					split(sv, a, SUBSEP)
					want = a[1]; skipping = a[2]; pattern = a[3]; incase = a[4]; casehead = a[5]; array = a[6]
					i = e
				}
			}
			continue
		}
		if (c == "#" && w == "") {
			while (i < n && substr(s, i + 1, 1) != "\n") i++
			continue
		}
		if (c == "\\") {
			if (substr(s, i + 1, 1) == "\n") { lineno++; i++; word_done(w, " "); w = ""; continue }
			i++; w = w "\\"; continue
		}
		if (c == "$" && substr(s, i + 1, 2) == "((") {
			# arithmetic: no commands
			depth = 0
			for (i++; i <= n; i++) {
				if (substr(s, i, 1) == "(") depth++
				if (substr(s, i, 1) == ")" && --depth == 0) break
			}
			w = w "$"
			continue
		}
		if (c == "$" && substr(s, i + 1, 1) == "{") {
			depth = 0
			for (; i <= n; i++) {
				if (substr(s, i, 1) == "{") depth++
				if (substr(s, i, 1) == "}" && --depth == 0) break
			}
			w = w "$"
			continue
		}
		if (c == "$" && substr(s, i + 1, 1) == "(") {
			word_done(w, c); w = ""; want = 1; skipping = ""; i++
			continue
		}
		if (c == "(" && substr(s, i + 1, 1) == "(") {
			# (( arithmetic )), and for (( ...; ...; ... )): no commands
			depth = 0
			for (; i <= n; i++) {
				if (substr(s, i, 1) == "(") depth++
				if (substr(s, i, 1) == ")" && --depth == 0) break
			}
			want = 0
			continue
		}
		if (c ~ /[ \t\n|&;()`{}<>]/) {
			patend = 0
			word_done(w, c); w = ""
			if (array) { if (c == "\n") lineno++; if (c == ")") array = 0; continue }
			if (c == "\n") lineno++
			if (c == "<" || c == ">") {
				# a redirection's target is not a command; <( and >( are
				while (i < n && substr(s, i + 1, 1) ~ /[<>&0-9]/) i++
				if (substr(s, i + 1, 1) == "(") { i++; want = 1; continue }
				while (i < n && substr(s, i + 1, 1) ~ /[ \t]/) i++
				for (; i < n && substr(s, i + 1, 1) !~ /[ \t\n|;&)]/; i++)
					if (substr(s, i + 1, 1) ~ /["']/) {
						q = substr(s, ++i, 1)
						for (i++; i < n && substr(s, i, 1) != q; i++) ;
					}
				continue
			}
			if (c == ";" && substr(s, i + 1, 1) == ";") { i++; if (incase) pattern = 1; want = 1; continue }
			if (c ~ /[\n|&;(`{]/) { want = 1; skipping = "" }
			if (c == ")" && !patend) want = 0
			continue
		}
		w = w c
	}
	word_done(w, " ")
}
