# SPDX-License-Identifier: LGPL-2.1-or-later
# SPDX-License-Identifier: LGPL-2.1-or-later
# bash completion for wgnetctl: commands, options, and network, tunnel, mesh and peer names
# read from wgnetd over the bus (wgnetctl --json=short list output, so it works
# unprivileged). Names may contain blanks (and peer names quotes): they are read from the
# JSON "Name" fields and offered quoted for the shell.

# The JSON "Name" values on stdin, unescaped, one per line.
__wgnetctl_json_names() {
        grep -o '"Name":"\([^"\\]\|\\.\)*"' | sed 's/^"Name":"//; s/"$//; s/\\\(.\)/\1/g'
}

# The names of the objects that wgnetctl --json=short ARGS lists.
__wgnetctl_names() {
        wgnetctl --json=short --no-ask-password "$@" 2>/dev/null | __wgnetctl_json_names
}

# The names of the networks in mode mesh.
__wgnetctl_meshes() {
        wgnetctl --json=short --no-ask-password network list 2>/dev/null | sed 's/},{"Path"/}\n{"Path"/g' |
                grep -e '"Mode":"mesh"' | __wgnetctl_json_names
}

# COMPREPLY: the lines of $1 that start with the current word, quoted for the shell.
__wgnetctl_reply() {
        local IFS=$'\n' word=${cur//\\/} w q
        word=${word#[\"\']}
        COMPREPLY=()
        for w in $1; do
                if [[ $w == "$word"* ]]; then
                        printf -v q '%q' "$w"
                        COMPREPLY+=("$q")
                fi
        done
}

_wgnetctl() {
        local cur prev words cword
        if declare -F _init_completion >/dev/null 2>&1; then
                _init_completion -n = || return
        else
                cur=${COMP_WORDS[COMP_CWORD]}
                prev=${COMP_WORDS[COMP_CWORD-1]}
                words=("${COMP_WORDS[@]}")
                cword=$COMP_CWORD
        fi

        local global_opts='-h --help --version --json= --no-legend --no-pager --no-ask-password --show-keys -q --quiet'
        local policy_opts='--rotate-every= --rotation-kind= --grace-period= --revoke-after='
        local net_common="-a --address= --dns= --endpoint= --port= --mtu= --route= --isolation= --default-route= --peer-routes= --nat-interface= --online-threshold= $policy_opts"
        local net_opts="$net_common --mode="
        local peer_opts="-a --address= --keepalive= --role= --site= --allowed-ip= --email= --expires= --remote-endpoint= $policy_opts"
        local out_opts='-o --output= --force'
        local tun_opts='--port= --endpoint= --local-network= --remote-network= --remote-endpoint= --public-key= --tunnel-address= --keepalive= --pairing-lifetime= --online-threshold='
        local -A verb_opts=(
                [network create]="$net_opts --key-policy= --interface= --inactive"
                [tunnel create]="$tun_opts --interface= --inactive"
                [tunnel set]="$tun_opts"
                [tunnel import]="--name= --interface= --port= --endpoint= --local-network= --keepalive= --pairing-lifetime= --online-threshold= --inactive"
                [network set]="$net_opts"
                [network import]="--dns= --endpoint= --port= --mtu= --mode= --route= --isolation= --default-route= --peer-routes= --nat-interface= --online-threshold= --interface= --inactive"
                [network export]="$out_opts"
                [peer add]="$peer_opts --psk --no-psk --public-key= --disabled $out_opts --qr --no-qr"
                [peer set]="$peer_opts --name="
                [peer config]="$out_opts"
                [peer qr]="--png= --svg= $out_opts"
                [peer rotate]="--psk $out_opts --qr --no-qr"
                [mesh create]="$net_common --interface= --inactive"
                [mesh invite]="--name= --expires= --endpoint="
                [mesh join]="--name= --interface= --port="
                [mesh exit-node]="--nat-interface="
        )
        local -A verb_args=(
                [status]=network
                [network show]=networks [network delete]=networks [network up]=networks
                [network down]=networks [network set]=network [network export]=network
                [network next-ip]=network [network import]=name-file
                [peer list]=network [peer add]=network
                [peer show]=network-peer [peer remove]=network-peer [peer enable]=network-peer
                [peer disable]=network-peer [peer set]=network-peer [peer config]=network-peer
                [peer qr]=network-peer [peer rotate]=network-peer
                [tunnel show]=tunnels [tunnel pairing]=tunnel [tunnel up]=tunnels [tunnel down]=tunnels
                [tunnel set]=tunnel [tunnel delete]=tunnels
                [mesh invite]=mesh [mesh leave]=mesh [mesh members]=mesh [mesh exit-node]=mesh-exit-node
        )

        # Values of options.
        case $prev in
        -o|--output|--png|--svg)
                compopt -o filenames 2>/dev/null
                COMPREPLY=($(compgen -f -- "$cur"))
                return ;;
        -a) return ;;
        esac
        case $cur in
        --json=*) COMPREPLY=($(compgen -P '--json=' -W 'pretty short' -- "${cur#--json=}")); return ;;
        --mode=*) COMPREPLY=($(compgen -P '--mode=' -W 'hub gateway split site-to-site mesh' -- "${cur#--mode=}")); return ;;
        --isolation=*) COMPREPLY=($(compgen -P '--isolation=' -W 'yes no' -- "${cur#--isolation=}")); return ;;
        --default-route=*) COMPREPLY=($(compgen -P '--default-route=' -W 'yes no' -- "${cur#--default-route=}")); return ;;
        --peer-routes=*) COMPREPLY=($(compgen -P '--peer-routes=' -W 'yes no' -- "${cur#--peer-routes=}")); return ;;
        --key-policy=*) COMPREPLY=($(compgen -P '--key-policy=' -W 'stored one-time' -- "${cur#--key-policy=}")); return ;;
        --role=*) COMPREPLY=($(compgen -P '--role=' -W 'client site-gateway' -- "${cur#--role=}")); return ;;
        --keepalive=*) COMPREPLY=($(compgen -P '--keepalive=' -W 'off 25' -- "${cur#--keepalive=}")); return ;;
        --rotation-kind=*) COMPREPLY=($(compgen -P '--rotation-kind=' -W 'psk keypair default' -- "${cur#--rotation-kind=}")); return ;;
        --rotate-every=*|--grace-period=*|--revoke-after=*)
                local opt=${cur%%=*}
                COMPREPLY=($(compgen -P "$opt=" -W 'off 12h 1d 7d 30d 90d' -- "${cur#*=}"))
                return ;;
        --expires=*) COMPREPLY=($(compgen -P '--expires=' -W 'never +1h +1d +7d +30d +90d' -- "${cur#--expires=}")); return ;;
        --nat-interface=*)
                COMPREPLY=($(compgen -P '--nat-interface=' -W "$(ls /sys/class/net 2>/dev/null)" -- "${cur#--nat-interface=}"))
                return ;;
        --output=*|--png=*|--svg=*)
                local opt=${cur%%=*}
                compopt -o filenames 2>/dev/null
                COMPREPLY=($(compgen -P "$opt=" -f -- "${cur#*=}"))
                return ;;
        esac

        # Find the command (first one or two words that are not options) and its arguments;
        # the word after -o or -a is that option's value.
        local i group= verb= args=()
        for ((i = 1; i < cword; i++)); do
                case ${words[i]} in
                -o|-a|--output|--png|--svg) ((i++)) ;;
                -*) ;;
                *)
                        if [ -z "$group" ]; then
                                group=${words[i]}
                        elif [ -z "$verb" ] && { [ "$group" = network ] || [ "$group" = peer ] || [ "$group" = tunnel ] || [ "$group" = mesh ]; }; then
                                verb=${words[i]}
                        else
                                args+=("${words[i]//\\/}")
                        fi ;;
                esac
        done

        local key=$group
        [ -n "$verb" ] && key="$group $verb"

        if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "$global_opts ${verb_opts[$key]}" -- "$cur"))
                [[ ${COMPREPLY[0]} == *= ]] && compopt -o nospace 2>/dev/null
                return
        fi

        if [ -z "$group" ]; then
                COMPREPLY=($(compgen -W 'status network peer tunnel mesh monitor version help' -- "$cur"))
                return
        fi
        if [ -z "$verb" ] && { [ "$group" = network ] || [ "$group" = peer ] || [ "$group" = tunnel ] || [ "$group" = mesh ]; }; then
                if [ "$group" = network ]; then
                        COMPREPLY=($(compgen -W 'list show create delete up down set import export next-ip' -- "$cur"))
                elif [ "$group" = tunnel ]; then
                        COMPREPLY=($(compgen -W 'list show create pairing import up down set delete' -- "$cur"))
                elif [ "$group" = mesh ]; then
                        COMPREPLY=($(compgen -W 'create invite join leave members exit-node' -- "$cur"))
                else
                        COMPREPLY=($(compgen -W 'list show add remove enable disable set config qr rotate' -- "$cur"))
                fi
                return
        fi

        local n=${#args[@]}
        case ${verb_args[$key]} in
        network) [ "$n" -eq 0 ] && __wgnetctl_reply "$(__wgnetctl_names network list)" ;;
        networks) __wgnetctl_reply "$(__wgnetctl_names network list)" ;;
        network-peer)
                if [ "$n" -eq 0 ]; then
                        __wgnetctl_reply "$(__wgnetctl_names network list)"
                elif [ "$n" -eq 1 ]; then
                        __wgnetctl_reply "$(__wgnetctl_names peer list "${args[0]}")"
                fi ;;
        tunnel) [ "$n" -eq 0 ] && __wgnetctl_reply "$(__wgnetctl_names tunnel list)" ;;
        tunnels) __wgnetctl_reply "$(__wgnetctl_names tunnel list)" ;;
        mesh) [ "$n" -eq 0 ] && __wgnetctl_reply "$(__wgnetctl_meshes)" ;;
        mesh-exit-node)
                if [ "$n" -eq 0 ]; then
                        __wgnetctl_reply "$(__wgnetctl_meshes)"
                elif [ "$n" -eq 1 ]; then
                        COMPREPLY=($(compgen -W 'offer withdraw use none' -- "$cur"))
                elif [ "$n" -eq 2 ] && [ "${args[1]}" = use ]; then
                        __wgnetctl_reply "$(__wgnetctl_names mesh members "${args[0]}")"
                fi ;;
        name-file) [ "$n" -eq 1 ] && { compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")); } ;;
        esac
}

complete -F _wgnetctl wgnetctl
