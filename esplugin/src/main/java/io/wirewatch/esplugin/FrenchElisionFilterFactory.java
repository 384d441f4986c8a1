package io.wirewatch.esplugin;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.fr.FrenchAnalyzer;
import org.apache.lucene.analysis.util.ElisionFilter;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;

/** Removes French elided articles ("l'État" to "État", "d'Al-Qaïda" to "Al-Qaïda"): Lucene's FrenchAnalyzer articles. */
@NamedComponent("ww_french_elision")
public class FrenchElisionFilterFactory implements TokenFilterFactory {
    @Override
    public TokenStream create(TokenStream tokenStream) {
        return new ElisionFilter(tokenStream, FrenchAnalyzer.DEFAULT_ARTICLES);
    }
}
