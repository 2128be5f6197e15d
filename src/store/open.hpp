// Opening a store by its location: the URL's scheme chooses the backend (a folder path, or
// file://, is the local one).
#pragma once

#include "store/store.hpp"

#include <memory>
#include <string>

namespace kiln::store {

// A store from its location: a folder path or file:// URL is the local backend.
Expected<std::unique_ptr<Store>> open_store(const std::string& location,
                                            OpenMode mode = OpenMode::existing);

} // namespace kiln::store
