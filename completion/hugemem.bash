# bash completion for hugemem(1).
#
# The option lists below are the parser's own tables (the library's,
# hm_opts_table in src/options/options.c, and the command line's, cli_opts_table in
# cli/opts.c): test/cli_help.t compares them, command by command, so an
# option added to either fails the tests until it is added here too.
# Installed by `make install` as share/bash-completion/completions/hugemem.

# Every option COMMAND takes.
_hugemem_options()
{
	case $1 in
	init) echo "--mem -m --socket-mem --huge-dir --file-prefix --iova-mode --no-huge --in-memory --huge-unlink --allow-unsafe-mount --no-shconf --single-file-segments --base-virtaddr --page-size --contig --verify --zone --vfio-device --iommu --dma-mask-bits --max-mem --socket-max-mem --auto-trim --keeper --map --json --hold --trace --help -h" ;;
	attach) echo "--file-prefix --verify --map --json --hold --trace --help -h" ;;
	status) echo "--huge-dir --page-size --vfio-device --json --help -h" ;;
	reserve) echo "--page-size --json --dry-run --force --node --overcommit --help -h" ;;
	mount) echo "--page-size --json --dry-run --user --group --mode --size --nr-inodes --help -h" ;;
	unmount) echo "--json --help -h" ;;
	clear) echo "--huge-dir --file-prefix --json --dry-run --help -h" ;;
	map) echo "--file-prefix --page-size --json --node --for --svg --help -h" ;;
	reorder) echo "--page-size --json --node --help -h" ;;
	keeper) echo "--page-size --group --keep --chunk --expose-pa --runtime-dir --uid-quota --socket-keep --help -h" ;;
	setup) echo "--page-size --node --json --dry-run --force --user --group --mode --mount --persist --from-config --help -h" ;;
	esac
}

# The options that take a value (the next word).
_hugemem_valued="--mem -m --socket-mem --huge-dir --file-prefix --iova-mode --base-virtaddr --page-size --contig --zone --node --for --svg --user --group --vfio-device --iommu --dma-mask-bits --max-mem --socket-max-mem --auto-trim --keeper --keep --chunk --runtime-dir --uid-quota --socket-keep --mode --size --nr-inodes --overcommit --mount"

# The commands that take options (help, which takes none, is offered beside them).
_hugemem_commands="init attach map status setup reserve reorder mount unmount clear keeper"

# Page sizes this kernel offers, as option values: 2M 1G.
_hugemem_page_sizes()
{
	local d kb
	for d in /sys/kernel/mm/hugepages/hugepages-*kB; do
		[ -d "$d" ] || continue
		kb=${d##*hugepages-}
		kb=${kb%kB}
		if [ $((kb % 1048576)) -eq 0 ]; then
			echo "$((kb / 1048576))G"
		elif [ $((kb % 1024)) -eq 0 ]; then
			echo "$((kb / 1024))M"
		else
			echo "${kb}K"
		fi
	done
}

# Live and stale prefixes: the names of the runtime directories.
_hugemem_prefixes()
{
	local base
	for base in "${HUGEMEM_RUNTIME_DIR:-}" /run/hugemem "${XDG_RUNTIME_DIR:+$XDG_RUNTIME_DIR/hugemem}" "/tmp/hugemem-$(id -u)"; do
		[ -n "$base" ] && [ -d "$base" ] && ls -1 "$base" 2>/dev/null
	done
}

_hugemem_mounts()
{
	awk '$3 == "hugetlbfs" { print $2 }' /proc/mounts 2>/dev/null
}

_hugemem_value()
{
	local prev=$1 cur=$2
	case $prev in
	--page-size) COMPREPLY=($(compgen -W "$(_hugemem_page_sizes)" -- "$cur")) ;;
	--iova-mode) COMPREPLY=($(compgen -W "pa va alloc" -- "$cur")) ;;
	--iommu) COMPREPLY=($(compgen -W "auto iommufd type1 noiommu off" -- "$cur")) ;;
	--vfio-device) COMPREPLY=($(compgen -W "$(ls /sys/bus/pci/drivers/vfio-pci 2>/dev/null | grep :)" -- "$cur")) ;;
	--contig) COMPREPLY=($(compgen -W "fast best" -- "$cur")) ;;
	--huge-dir) COMPREPLY=($(compgen -W "$(_hugemem_mounts)" -- "$cur")) ;;
	--file-prefix) COMPREPLY=($(compgen -W "$(_hugemem_prefixes)" -- "$cur")) ;;
	--node) COMPREPLY=($(compgen -W "$(ls -d /sys/devices/system/node/node[0-9]* 2>/dev/null | sed 's/.*node//')" -- "$cur")) ;;
	--svg) COMPREPLY=($(compgen -f -- "$cur")) ;;
	--mount) COMPREPLY=($(compgen -d -- "$cur")) ;;
	--mode) COMPREPLY=($(compgen -W "0755 1770 1777" -- "$cur")) ;;
	--vfio-device) COMPREPLY=($(compgen -W "$(ls /sys/bus/pci/devices 2>/dev/null)" -- "$cur")) ;;
	--user) COMPREPLY=($(compgen -u -- "$cur")) ;;
	--group) COMPREPLY=($(compgen -g -- "$cur")) ;;
	*) COMPREPLY=() ;; # sizes, addresses, zones: nothing to offer
	esac
}

_hugemem()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]} cmd=${COMP_WORDS[1]}
	COMPREPLY=()
	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W "$_hugemem_commands help --help --version -h -V" -- "$cur"))
		return
	fi
	if [ "$cmd" = help ]; then # help COMMAND: one command name, nothing after it
		[ "$COMP_CWORD" -eq 2 ] && COMPREPLY=($(compgen -W "$_hugemem_commands" -- "$cur"))
		return
	fi
	case " $_hugemem_valued " in
	*" $prev "*)
		_hugemem_value "$prev" "$cur"
		return
		;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_hugemem_options "$cmd")" -- "$cur"))
	elif [ "$cmd" = mount ]; then
		COMPREPLY=($(compgen -d -- "$cur"))
	elif [ "$cmd" = unmount ]; then
		COMPREPLY=($(compgen -W "$(_hugemem_mounts)" -- "$cur"))
	fi
}
complete -F _hugemem hugemem
