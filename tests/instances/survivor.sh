# Instance alpha of tests/configs/contain.toml: hears beta's four runs,
# exhausts its own memory, sees the channel end, and finishes.
for k in 1 2 3 4; do
    read line < /dev/chan/link
    echo "alpha heard: $line"
done
/tests/hog
cat /dev/chan/link
echo "alpha: the channel ended"
echo "alpha: done"
