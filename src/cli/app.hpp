// The kiln command line. The only code that prints to the user.
#pragma once

namespace kiln::cli {

int run(int argc, char** argv);

} // namespace kiln::cli
