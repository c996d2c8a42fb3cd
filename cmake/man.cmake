# Man pages: generated from doc/*.md by doc/mkman.sh (lowdown) and committed
# under doc/man/, so installing needs nothing beyond the compiler and CMake.
# `make man` regenerates them; tests/test_man.sh fails when one is stale.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/doc/man/ DESTINATION ${CMAKE_INSTALL_MANDIR})
