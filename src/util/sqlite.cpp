#include "util/sqlite.hpp"

#include <chrono>
#include <sqlite3.h>
#include <thread>

namespace kiln::util {

namespace {

constexpr int kBusyTimeoutMs = 30000;

} // namespace

Expected<Database> Database::open(const std::filesystem::path& file)
{
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(file.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return make_error(ExitCode::environment,
                      "cannot open the database " + file.string() + ": " + why);
  }
  Database database(db);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  // Switching a new file to WAL takes a lock that the busy handler does not wait for: two
  // processes opening a new store at once would see "database is locked". Retry within the bound.
  auto wal = database.query("PRAGMA journal_mode=WAL");
  for (int waited = 0;
       !wal && wal.error().message.find("locked") != std::string::npos && waited < kBusyTimeoutMs;
       waited += 50) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    wal = database.query("PRAGMA journal_mode=WAL");
  }
  if (!wal)
    return std::move(wal).error();
  KILN_TRY(database.execute("PRAGMA synchronous=FULL"));
  return database;
}

Database::Database(Database&& other) noexcept : db_(other.db_)
{
  other.db_ = nullptr;
}

Database& Database::operator=(Database&& other) noexcept
{
  std::swap(db_, other.db_);
  return *this;
}

Database::~Database()
{
  if (db_)
    sqlite3_close(db_);
}

Error Database::failure(std::string_view what) const
{
  return make_error(ExitCode::environment,
                    "database error in '" + std::string(what) + "': " + sqlite3_errmsg(db_));
}

Expected<std::vector<SqlRow>> Database::query(std::string_view sql,
                                              const std::vector<SqlValue>& params)
{
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &statement, nullptr) !=
      SQLITE_OK)
    return failure(sql);
  for (size_t i = 0; i < params.size(); ++i) {
    int index = static_cast<int>(i + 1);
    if (const auto* text = std::get_if<std::string>(&params[i]))
      sqlite3_bind_text(statement, index, text->data(), static_cast<int>(text->size()),
                        SQLITE_TRANSIENT);
    else if (const auto* number = std::get_if<int64_t>(&params[i]))
      sqlite3_bind_int64(statement, index, *number);
    else
      sqlite3_bind_null(statement, index);
  }
  std::vector<SqlRow> rows;
  int rc;
  while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
    SqlRow row;
    for (int c = 0; c < sqlite3_column_count(statement); ++c) {
      switch (sqlite3_column_type(statement, c)) {
      case SQLITE_INTEGER:
        row.emplace_back(static_cast<int64_t>(sqlite3_column_int64(statement, c)));
        break;
      case SQLITE_NULL:
        row.emplace_back(nullptr);
        break;
      default: {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, c));
        row.emplace_back(
            std::string(text, static_cast<size_t>(sqlite3_column_bytes(statement, c))));
      }
      }
    }
    rows.push_back(std::move(row));
  }
  std::optional<Error> error;
  if (rc != SQLITE_DONE)
    error = failure(sql);
  sqlite3_finalize(statement);
  if (error)
    return std::move(*error);
  return rows;
}

Expected<int64_t> Database::execute(std::string_view sql, const std::vector<SqlValue>& params)
{
  auto rows = query(sql, params);
  if (!rows)
    return std::move(rows).error();
  return static_cast<int64_t>(sqlite3_changes(db_));
}

Expected<int64_t> Database::user_version()
{
  auto rows = query("PRAGMA user_version");
  if (!rows)
    return std::move(rows).error();
  return rows->empty() ? 0 : std::get<int64_t>(rows->front().front());
}

Status Database::set_user_version(int64_t version)
{
  // PRAGMA takes no bound parameters; the value is a number kiln chose.
  KILN_TRY(execute("PRAGMA user_version=" + std::to_string(version)));
  return ok_status();
}

} // namespace kiln::util
