# Instance beta of tests/configs/contain.toml: says so, then panics its
# LibOS on purpose (Linux's crash trigger).
echo "beta is up" > /dev/chan/link
echo c > /proc/sysrq-trigger
echo "beta: still alive after the crash trigger"
