// A thin RAII layer over SQLite: a connection, prepared statements with bound text and integer
// parameters, and transactions. Errors name the statement and SQLite's message.
#pragma once

#include "util/error.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

struct sqlite3;

namespace kiln::util {

using SqlValue = std::variant<std::string, int64_t, std::nullptr_t>;
using SqlRow = std::vector<SqlValue>;

class Database {
public:
  // Opens (creating) the database in WAL mode, with a busy timeout so that concurrent writers
  // wait for each other instead of failing.
  static Expected<Database> open(const std::filesystem::path& file);

  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  ~Database();

  // Runs one statement with `params` bound to ?1, ?2, ...; returns its rows.
  Expected<std::vector<SqlRow>> query(std::string_view sql,
                                      const std::vector<SqlValue>& params = {});
  // Runs one statement; returns how many rows it changed.
  Expected<int64_t> execute(std::string_view sql, const std::vector<SqlValue>& params = {});

  // PRAGMA user_version, the schema's migration level.
  Expected<int64_t> user_version();
  Status set_user_version(int64_t version);

private:
  explicit Database(sqlite3* db) : db_(db) {}
  Error failure(std::string_view what) const;
  sqlite3* db_ = nullptr;
};

} // namespace kiln::util
