# Instance beta of tests/configs/two-instances.toml.
echo "beta's file" > /tmp/theirs
[ -e /etc/instance ] && echo "beta sees alpha's /etc/instance" || echo "beta: no /etc/instance; hostname file: $(cat /etc/hostname)"
read msg < /dev/chan/link
echo "beta got: $msg"
echo "pong from beta" > /dev/chan/link
head -c 1048576 /dev/urandom > /tmp/blob
sum=$(md5sum < /tmp/blob)
echo "beta sends 1 MiB, md5 ${sum%% *}"
cat /tmp/blob > /dev/chan/link
[ -e /tmp/mine ] && echo "beta sees alpha's file" || echo "beta does not see alpha's file"
echo "beta: done"
