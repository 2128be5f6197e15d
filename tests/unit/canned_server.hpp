// A small HTTP server on 127.0.0.1 for unit tests: it answers each connection, in turn, with one
// of its canned replies (whole HTTP responses) and keeps what it was sent.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace kiln::test {

class CannedServer {
public:
  explicit CannedServer(std::vector<std::string> replies) : replies_(std::move(replies))
  {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t size = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    ::listen(fd_, 4);
    thread_ = std::thread([this] { serve(); });
  }
  ~CannedServer()
  {
    thread_.join();
    ::close(fd_);
  }
  std::string url(const std::string& path) const
  {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  const std::vector<std::string>& requests() const { return requests_; }

private:
  void serve()
  {
    for (const auto& reply : replies_) {
      int client = ::accept(fd_, nullptr, nullptr);
      std::string text;
      char buffer[4096];
      size_t wanted = std::string::npos;
      while (wanted == std::string::npos || text.size() < wanted) {
        ssize_t got = ::read(client, buffer, sizeof buffer);
        if (got <= 0)
          break;
        text.append(buffer, static_cast<size_t>(got));
        auto end = text.find("\r\n\r\n");
        if (wanted == std::string::npos && end != std::string::npos) {
          size_t length = 0;
          auto at = text.find("Content-Length: ");
          if (at != std::string::npos && at < end)
            length = std::stoul(text.substr(at + 16));
          wanted = end + 4 + length;
        }
      }
      requests_.push_back(text);
      (void)!::write(client, reply.data(), reply.size());
      ::close(client);
    }
  }

  std::vector<std::string> replies_;
  std::vector<std::string> requests_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

inline std::string reply(int status, const std::string& headers, const std::string& body)
{
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n" +
         headers + "\r\n" + body;
}

} // namespace kiln::test
