// Sockets: a unix socketpair, TCP over loopback (bind to port 0, listen,
// connect, accept), poll and epoll.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void) {
  int sv[2];
  printf("socketpair %d\n", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  write(sv[0], "ping", 4);
  char buf[32] = {0};
  printf("unix read %zd %s\n", read(sv[1], buf, sizeof buf), buf);

  int srv = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  printf("bind %d\n", bind(srv, (struct sockaddr*)&addr, sizeof addr));
  listen(srv, 1);
  socklen_t len = sizeof addr;
  getsockname(srv, (struct sockaddr*)&addr, &len);
  printf("port assigned %d\n", ntohs(addr.sin_port) != 0);
  int cli = socket(AF_INET, SOCK_STREAM, 0);
  printf("connect %d\n", connect(cli, (struct sockaddr*)&addr, sizeof addr));
  struct sockaddr_in peer;
  len = sizeof peer;
  int conn = accept(srv, (struct sockaddr*)&peer, &len);
  printf("accept ok %d, peer is loopback %d\n", conn >= 0,
         peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
  send(cli, "hello tcp", 9, 0);
  struct pollfd pfd = {conn, POLLIN, 0};
  int ready = poll(&pfd, 1, 1000);
  printf("poll %d revents %d\n", ready, pfd.revents & POLLIN);
  memset(buf, 0, sizeof buf);
  printf("recv %zd %s\n", recv(conn, buf, sizeof buf, 0), buf);

  int ep = epoll_create1(0);
  struct epoll_event ev = {0};
  ev.events = EPOLLIN;
  ev.data.u64 = 0x1122334455667788ull;
  epoll_ctl(ep, EPOLL_CTL_ADD, cli, &ev);
  send(conn, "back", 4, 0);
  struct epoll_event out[2];
  int n = epoll_wait(ep, out, 2, 1000);  // before the printf reads out[0]
  printf("epoll %d data %llx in %d\n", n, (unsigned long long)out[0].data.u64,
         (out[0].events & EPOLLIN) != 0);
  memset(buf, 0, sizeof buf);
  struct iovec iov = {buf, sizeof buf};
  struct msghdr msg = {0};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  printf("recvmsg %zd %s\n", recvmsg(cli, &msg, 0), buf);
  close(conn);
  close(cli);
  close(srv);
  return 0;
}
