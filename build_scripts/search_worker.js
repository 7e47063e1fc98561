/* The site's search worker: Material's own worker, imported unchanged at the end, with one
   correction to how it cuts a Chinese query. The build writes this file next to Material's
   worker (assets/javascripts/workers/, so the worker's "../lunr" language files resolve the
   same), minified under a hashed name, and points the pages' __config at it.

   Material cuts each run of Han characters in a query into words of the index's vocabulary,
   and searches each word as a prefix (word*). Its loop never looks at the run's last
   character (`j < query.length`), so 住院条 is searched as 住院* (every 住院 section, the one
   with 住院 in its title first), 北京协和医院 as 北京* 协和*, and 协和 as 协* when 协 is a word.
   Appending one Han character to the run lets the loop see the whole run; that character
   itself never starts or ends a word there, so it is dropped. Material searches a run as
   typed when no word starts it (协* for a lone 协); so do we: the character is added only
   when some word of the vocabulary starts the run. */
(function () {
  "use strict";

  var EXTRA = "\u3007"; /* 〇: Han script, so the theme's /\p{sc=Han}+/ keeps it in the run */
  var HAN_RUN = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3007]+/g;
  var vocabulary = null;

  /* The index's tokens, as the theme's tokenizer makes them: each field's text outside tags,
     split on the configured separator, lower-cased (the zh pipeline's stemmer keeps words). */
  function buildVocabulary(config, docs) {
    var separator = new RegExp(config.separator, "g");
    var fields = Object.keys(config.fields || { title: 1, text: 1 });
    var words = Object.create(null);
    docs.forEach(function (doc) {
      fields.forEach(function (field) {
        var value = doc[field];
        if (typeof value !== "string") return;
        value.replace(/<[^>]*>/g, " ").split(separator).forEach(function (token) {
          if (token) words[token.toLowerCase()] = true;
        });
      });
    });
    return words;
  }

  function startsWithWord(run) {
    for (var j = 1; j <= run.length; j++)
      if (run.slice(0, j) in vocabulary) return true;
    return false;
  }

  function fixQuery(query) {
    return query.replace(HAN_RUN, function (run) {
      return run.length > 1 && startsWithWord(run) ? run + EXTRA : run;
    });
  }

  /* Registered before Material's own listener (imported below), so it runs first; it changes
     only the message it is given (the same object Material's listener then reads). */
  self.addEventListener("message", function (event) {
    var message = event.data;
    if (!message || typeof message !== "object") return;
    if (message.type === 0 && message.data && Array.isArray(message.data.docs)) {
      vocabulary = buildVocabulary(message.data.config || {}, message.data.docs);
    } else if (message.type === 2 && typeof message.data === "string" && vocabulary) {
      message.data = fixQuery(message.data);
    }
  });

  importScripts("__MATERIAL_WORKER__");
})();
