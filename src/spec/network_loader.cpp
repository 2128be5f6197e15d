// Loading and checking `requirements.network`.
#include "spec/network_loader.hpp"

#include <arpa/inet.h>
#include <regex>

namespace kiln::spec {

namespace {

bool is_ip(const std::string& text)
{
  unsigned char buffer[sizeof(struct in6_addr)];
  return ::inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
         ::inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

const std::regex
    kHostName("[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*");

// A string list whose every item must pass `valid`; `what_item` names one in the error.
std::optional<std::vector<std::string>> checked_list(Validator& v, const Entries& fields,
                                                     const char* key,
                                                     bool (*valid)(const std::string&),
                                                     const std::string& what_item,
                                                     const std::string& example)
{
  auto it = fields.find(key);
  if (it == fields.end())
    return std::vector<std::string>{};
  auto items = v.string_list(it->second, std::string("requirements.network ") + key);
  if (!items)
    return std::nullopt;
  bool ok = true;
  size_t index = 0;
  for (const auto& item : *items) {
    Position at = position_of(it->second.value[index++]);
    if (!valid(item)) {
      v.error(at, "'" + item + "' is not " + what_item, "write e.g. " + example);
      ok = false;
    }
  }
  if (!ok)
    return std::nullopt;
  return items;
}

bool is_host_name(const std::string& text)
{
  return std::regex_match(text, kHostName);
}

bool is_no_proxy_entry(const std::string& text)
{
  if (text.empty())
    return false;
  std::string host = text.front() == '.' ? text.substr(1) : text;
  size_t slash = host.find('/');
  if (slash != std::string::npos)
    return is_ip(host.substr(0, slash)); // a CIDR range
  return is_host_name(host) || is_ip(host);
}

std::optional<HostEntry> load_host(Validator& v, const YAML::Node& node, int number)
{
  std::string where = "requirements.network.hosts item " + std::to_string(number);
  auto fields = v.mapping(node, position_of(node), shape("host"), where);
  if (!fields || !fields->count("ip") || !fields->count("names"))
    return std::nullopt;
  auto ip = v.string_value(fields->at("ip"), where + " ip");
  if (ip && !is_ip(*ip)) {
    v.error(Validator::value_position(fields->at("ip")), "'" + *ip + "' is not an IP address",
            "write e.g. 10.0.0.5 or fd00::5");
    return std::nullopt;
  }
  auto names = checked_list(v, *fields, "names", is_host_name, "a host name", "artifacts.corp");
  if (!ip || !names)
    return std::nullopt;
  if (names->empty()) {
    v.error(Validator::value_position(fields->at("names")), where + " has no names",
            "give at least one host name");
    return std::nullopt;
  }
  return HostEntry{*ip, *names};
}

bool load_proxy(Validator& v, const Entries& fields, const char* key, std::string& out)
{
  auto it = fields.find(key);
  if (it == fields.end())
    return true;
  auto url = v.string_value(it->second, std::string("requirements.network ") + key);
  static const std::regex pattern("https?://[^\\s/]+(/\\S*)?");
  if (url && !std::regex_match(*url, pattern)) {
    v.error(Validator::value_position(it->second), "'" + *url + "' is not an http(s):// proxy URL",
            "write e.g. http://proxy.corp:3128");
    return false;
  }
  out = url.value_or("");
  return url.has_value();
}

} // namespace

Network load_network(Validator& v, const Entry& entry)
{
  Network network;
  auto fields = v.mapping(entry.value, Validator::value_position(entry), shape("network"),
                          "requirements.network");
  if (!fields)
    return network;
  load_proxy(v, *fields, "proxy", network.proxy);
  load_proxy(v, *fields, "https_proxy", network.https_proxy);
  network.no_proxy = checked_list(v, *fields, "no_proxy", is_no_proxy_entry,
                                  "a host, a .domain, an address or a range", ".corp")
                         .value_or(std::vector<std::string>{});
  network.dns = checked_list(v, *fields, "dns", is_ip, "an IP address", "10.0.0.2")
                    .value_or(std::vector<std::string>{});
  network.search = checked_list(v, *fields, "search", is_host_name, "a domain", "corp.example.com")
                       .value_or(std::vector<std::string>{});
  if (auto it = fields->find("hosts");
      it != fields->end() &&
      v.is_list(it->second, "requirements.network hosts",
                "write each entry as '- {ip: 10.0.0.5, names: [artifacts.corp]}'")) {
    int number = 0;
    for (const auto& node : it->second.value) {
      if (auto host = load_host(v, node, ++number))
        network.hosts.push_back(*host);
    }
  }
  if (auto it = fields->find("ca_certificates"); it != fields->end()) {
    auto files = v.string_list(it->second, "requirements.network ca_certificates");
    size_t index = 0;
    for (const auto& file : files.value_or(std::vector<std::string>{})) {
      Entry item{it->second.key, it->second.value[index++]};
      if (v.check_relative_input(item, file, "requirements.network ca_certificates item"))
        network.ca_certificates.push_back(file);
    }
  }
  return network;
}

} // namespace kiln::spec
