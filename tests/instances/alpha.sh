# Instance alpha of tests/configs/two-instances.toml.
echo "alpha: up, $(ls /dev/chan) in /dev/chan"
echo "alpha's file" > /tmp/mine
echo "alpha: $(cat /etc/instance); hostname file: $(cat /etc/hostname)"
echo "ping from alpha" > /dev/chan/link
read reply < /dev/chan/link
echo "alpha got: $reply"
sum=$(head -c 1048576 /dev/chan/link | md5sum)
echo "alpha received 1 MiB, md5 ${sum%% *}"
[ -e /tmp/theirs ] && echo "alpha sees beta's file" || echo "alpha does not see beta's file"
echo "alpha: done"
