# A router between two hosts, built with the commands you would use on Linux.
# Run it:  usernet script examples/router.sh
ip netns add h1
ip netns add r
ip netns add h2
ip -n h1 link add eth0 type veth peer name r1 netns r
ip -n h2 link add eth0 type veth peer name r2 netns r
ip -n h1 addr add 10.1.0.2/24 dev eth0
ip -n h2 addr add 10.2.0.2/24 dev eth0
ip -n r addr add 10.1.0.1/24 dev r1
ip -n r addr add 10.2.0.1/24 dev r2
ip -n h1 link set eth0 up
ip -n h2 link set eth0 up
ip -n r link set r1 up
ip -n r link set r2 up
ip -n h1 route add default via 10.1.0.1
ip -n h2 route add default via 10.2.0.1
# r forwards: h1 reaches h2 across it (replies arrive with TTL 63).
ip netns exec r sysctl -w net.ipv4.ip_forward=1
ip netns exec h1 ping -c 3 -i 0.2 -W 1 10.2.0.2
ip -n h1 neigh
# Each namespace sees only its own devices, addresses and routes.
ip -n r -br addr
ip -n h1 route
ip -n h1 route get 10.2.0.2
ip netns list
# Policy routing on the router: traffic from h1's subnet uses table 100.
ip -n r route add default via 10.2.0.2 table 100
ip -n r rule add from 10.1.0.0/24 table 100 pref 1000
ip -n r rule show
ip -n r route get 8.8.8.8 from 10.1.0.1
# Moving a device flushes what its old namespace knew about it.
ip -n r link set r2 netns h1
ip -n r route
ip -n h1 link show r2
# Deleting a namespace destroys its veths and their peers elsewhere.
ip netns del h2
ip netns list
ip -n h1 -br link
