# Man pages are generated from doc/*.md by doc/mkman.sh with lowdown.
find_program(LOWDOWN lowdown)
file(GLOB RSOCK_DOC_PAGES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/doc/*.md)
set(RSOCK_MAN_DIR ${PROJECT_BINARY_DIR}/man)
if(LOWDOWN)
  add_custom_command(OUTPUT ${RSOCK_MAN_DIR}/.stamp
    COMMAND bash ${PROJECT_SOURCE_DIR}/doc/mkman.sh ${PROJECT_SOURCE_DIR}/doc ${RSOCK_MAN_DIR}
    COMMAND ${CMAKE_COMMAND} -E touch ${RSOCK_MAN_DIR}/.stamp
    DEPENDS ${RSOCK_DOC_PAGES} ${PROJECT_SOURCE_DIR}/doc/mkman.sh
    COMMENT "Generating man pages from doc/")
  add_custom_target(man ALL DEPENDS ${RSOCK_MAN_DIR}/.stamp)
  install(DIRECTORY ${RSOCK_MAN_DIR}/ DESTINATION ${CMAKE_INSTALL_MANDIR}
          PATTERN ".stamp" EXCLUDE)
else()
  message(WARNING "lowdown not found: man pages will not be built; make install will stop")
  install(CODE "message(FATAL_ERROR \"make install needs lowdown for the man pages: apt-get install lowdown\")")
endif()
